//! The SMTP notifier against a real SMTP server (aiosmtpd) on 127.0.0.1.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use support::*;
use tolom_core::card::Email;
use tolom_core::i18n::Language;
use tolom_core::outbox::Channel;
use tolom_core::ports::{Notification, Notifier};
use tolom_core::receipt::Receipt;
use tolom_notify_smtp::{Security, SmtpConfig, SmtpCredentials, SmtpNotifier};
use tolom_testkit::conformance::notifier::{run, sample, NotifierUnderTest, SAMPLE_PAN};
use uuid::Uuid;

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        credentials: None,
        from: "Tolom receipts <receipts@pay.example.kg>".into(),
        timeout: Duration::from_secs(10),
        base_url: Some("https://pay.example.kg".into()),
        ..SmtpConfig::default()
    }
}

fn receipt() -> Receipt {
    match sample(Channel::Email) {
        Notification::ReceiptEmail { receipt, .. } => *receipt,
        Notification::Agency(_) => unreachable!("asked for an e-mail"),
    }
}

fn email(to: &str, language: Language) -> Notification {
    Notification::ReceiptEmail {
        to: Email::from_stored(to),
        language,
        receipt: Box::new(receipt()),
    }
}

#[tokio::test]
async fn receipt_emails_in_kyrgyz_russian_and_english_reach_the_server() {
    if !smtp_server_available("receipt_emails_in_kyrgyz_russian_and_english_reach_the_server") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let notifier = SmtpNotifier::new(config(server.port)).unwrap();
    let r = receipt();
    let cases = [
        (
            Language::Ky,
            "ky@example.kg",
            "Төлөм боюнча дүмүрчөк №",
            "кызматы үчүн төлөмүңүз кабыл алынды",
            "Дүмүрчөк №",
        ),
        (
            Language::Ru,
            "ru@example.kg",
            "Квитанция об оплате №",
            "Ваш платёж за услугу",
            "Квитанция №",
        ),
        (
            Language::En,
            "en@example.kg",
            "Payment receipt No.",
            "We have received your payment",
            "Receipt No.",
        ),
    ];
    for (lang, to, subject, sentence, label) in cases {
        let id = Uuid::new_v4();
        notifier.deliver(id, &email(to, lang)).await.unwrap();
        let got = messages_for(dir.path(), id);
        assert_eq!(got.len(), 1, "{lang}: exactly one message");
        let m = &got[0];
        assert_eq!(
            m.json["rcpt_tos"],
            serde_json::json!([to]),
            "{lang}: envelope"
        );
        assert_eq!(m.field("mail_from"), "receipts@pay.example.kg");
        assert!(m.field("to").contains(to));
        assert_eq!(
            m.field("subject"),
            format!("{subject} {}: {}", r.number, r.service_name.get(lang))
        );
        assert_eq!(m.field("content_language"), lang.tag());
        assert_eq!(m.field("auto_submitted"), "auto-generated");
        assert_eq!(
            m.field("message_id"),
            format!("<{id}@pay.example.kg>"),
            "the outbox id is the Message-ID"
        );
        assert_eq!(m.json["defects"], serde_json::json!([]), "well-formed MIME");
        // multipart/alternative with text/plain and text/html.
        assert_eq!(m.field("content_type"), "multipart/alternative");
        let types: Vec<String> = m
            .parts()
            .iter()
            .map(|p| p["content_type"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            types,
            ["multipart/alternative", "text/plain", "text/html"],
            "{lang}"
        );
        let text = m.text_part("text/plain").unwrap();
        let html = m.text_part("text/html").unwrap();
        for body in [&text, &html] {
            assert!(body.contains(sentence), "{lang}: language of the body");
            assert!(body.contains(label), "{lang}: receipt labels");
            assert!(body.contains(&r.number), "{lang}: receipt number");
            assert!(body.contains("885.00 KGS"), "{lang}: amount");
            assert!(body.contains("4111********1111"), "{lang}: masked card");
            assert!(body.contains("654321") && body.contains("123456789012"));
            assert!(
                body.contains("2026-11-25 18:00:00 (UTC+06:00)"),
                "Bishkek time"
            );
            assert!(body.contains("Асанов Айбек Маратович"), "payer");
            assert!(body.contains("support@infocom.kg") && body.contains("119"));
            assert!(body.contains(&format!(
                "https://pay.example.kg/payments/{}/receipt?lang={}",
                r.payment_id,
                lang.tag()
            )));
        }
        assert!(html.contains(&format!("<html lang=\"{}\">", lang.tag())));
        let verify = format!("https://pay.example.kg/verify?n={}&s=", r.number);
        assert!(text.contains(&verify), "verification link");
        assert!(html.contains(&verify.replace('&', "&amp;")));
        assert!(!m.all_text().contains(SAMPLE_PAN), "no PAN");
        // The other languages' sentences are absent.
        for (other, _, _, other_sentence, _) in cases {
            if other != lang {
                assert!(
                    !text.contains(other_sentence),
                    "{lang} mail has {other} text"
                );
            }
        }
    }
    assert_eq!(server.messages().len(), 3);
}

/// The SMTP notifier pointed at a server writing to `dir` on `port`, with
/// an unreachable twin (a port nobody listens on) and what the server
/// received for a message id (subject, text parts and raw source).
fn under_test(dir: &Path, port: u16) -> NotifierUnderTest {
    let path = dir.to_path_buf();
    NotifierUnderTest {
        notifier: Arc::new(SmtpNotifier::new(config(port)).unwrap()),
        received: Box::new(move |id| {
            let texts: Vec<String> = messages_for(&path, id)
                .iter()
                .map(Received::all_text)
                .collect();
            Box::pin(async move { texts })
        }),
        unreachable: Arc::new(SmtpNotifier::new(config(free_port())).unwrap()),
        guard: None,
    }
}

/// A fresh aiosmtpd server per case, kept alive by the guard.
async fn smtp(case: &'static str) -> Option<NotifierUnderTest> {
    if !smtp_server_available(&format!("notifier_conformance::{case}")) {
        return None;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let mut under_test = under_test(dir.path(), server.port);
    // Dropped in order: the server stops, then its directory goes.
    under_test.guard = Some(Box::new((server, dir)));
    Some(under_test)
}

tolom_testkit::notifier_conformance!(smtp);

#[tokio::test]
async fn the_suites_redelivery_arrives_as_a_second_copy_with_the_same_message_id() {
    if !smtp_server_available(
        "the_suites_redelivery_arrives_as_a_second_copy_with_the_same_message_id",
    ) {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    run(&under_test(dir.path(), server.port)).await;
    // The redelivery in the suite arrived as a second copy with the same
    // Message-ID, which is how a mailbox recognises it; the unreachable
    // twin delivered nothing.
    let all = server.messages();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].field("message_id"), all[1].field("message_id"));
    assert_eq!(
        all[0].field("tolom_message_id"),
        all[1].field("tolom_message_id")
    );
}

#[tokio::test]
async fn smtp_4xx_is_transient_5xx_is_permanent_and_a_dead_server_is_transient() {
    if !smtp_server_available(
        "smtp_4xx_is_transient_5xx_is_permanent_and_a_dead_server_is_transient",
    ) {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let notifier = SmtpNotifier::new(config(server.port)).unwrap();
    let n = email("a@example.kg", Language::En);

    server.set_mode("451");
    let e = notifier.deliver(Uuid::new_v4(), &n).await.unwrap_err();
    assert!(e.is_temporary(), "451 is transient: {e}");
    assert!(e.message.contains("451"), "{e}");

    server.set_mode("550");
    let e = notifier.deliver(Uuid::new_v4(), &n).await.unwrap_err();
    assert!(!e.is_temporary(), "550 is permanent: {e}");
    assert!(e.message.contains("550"), "{e}");

    server.set_mode("ok");
    notifier.deliver(Uuid::new_v4(), &n).await.unwrap();
    assert_eq!(server.messages().len(), 1, "only the accepted message");

    let down = SmtpNotifier::new(config(free_port())).unwrap();
    let e = down.deliver(Uuid::new_v4(), &n).await.unwrap_err();
    assert!(e.is_temporary(), "connection refused is transient: {e}");
}

#[tokio::test]
async fn a_server_that_stalls_is_a_transient_timeout() {
    if !smtp_server_available("a_server_that_stalls_is_a_transient_timeout") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    server.set_mode("stall");
    let notifier = SmtpNotifier::new(SmtpConfig {
        timeout: Duration::from_millis(700),
        ..config(server.port)
    })
    .unwrap();
    let started = std::time::Instant::now();
    let e = notifier
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ru))
        .await
        .unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(e.message.contains("timeout"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn logs_in_with_credentials_and_a_wrong_password_is_permanent() {
    if !smtp_server_available("logs_in_with_credentials_and_a_wrong_password_is_permanent") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(
        dir.path(),
        ServerOptions {
            auth: Some(("receipts".into(), "s3cret-pass".into())),
            ..ServerOptions::default()
        },
    );
    let good = SmtpNotifier::new(SmtpConfig {
        credentials: Some(SmtpCredentials::new("receipts", "s3cret-pass")),
        ..config(server.port)
    })
    .unwrap();
    good.deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ky))
        .await
        .unwrap();
    assert_eq!(server.messages().len(), 1);

    let wrong = SmtpNotifier::new(SmtpConfig {
        credentials: Some(SmtpCredentials::new("receipts", "guess")),
        ..config(server.port)
    })
    .unwrap();
    let e = wrong
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ky))
        .await
        .unwrap_err();
    assert!(
        !e.is_temporary(),
        "535 authentication failed is permanent: {e}"
    );
    assert!(!e.message.contains("guess"), "no password in errors");

    let anonymous = SmtpNotifier::new(config(server.port)).unwrap();
    let e = anonymous
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ky))
        .await
        .unwrap_err();
    assert!(
        !e.is_temporary(),
        "530 authentication required is permanent: {e}"
    );
    assert_eq!(server.messages().len(), 1);
}

/// A self-signed certificate for 127.0.0.1, written to `dir`.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".into()])
        .unwrap();
    let cert_pem = ck.cert.pem();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    (cert, key, cert_pem.into_bytes())
}

#[tokio::test]
async fn starttls_and_implicit_tls_with_a_private_certificate_authority() {
    if !smtp_server_available("starttls_and_implicit_tls_with_a_private_certificate_authority") {
        return;
    }
    let certs = TempDir::new("tolom-smtp-cert");
    let (cert, key, pem) = certificate(certs.path());

    // STARTTLS, required by the server.
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(
        dir.path(),
        ServerOptions {
            tls: ServerTls::StartTls(cert.clone(), key.clone()),
            ..ServerOptions::default()
        },
    );
    let trusted = SmtpNotifier::new(SmtpConfig {
        security: Security::StartTls,
        root_certificates_pem: vec![pem.clone()],
        ..config(server.port)
    })
    .unwrap();
    trusted
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ru))
        .await
        .unwrap();
    assert_eq!(server.messages().len(), 1);
    // Without trusting the certificate, nothing is sent.
    let untrusted = SmtpNotifier::new(SmtpConfig {
        security: Security::StartTls,
        ..config(server.port)
    })
    .unwrap();
    let e = untrusted
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ru))
        .await
        .unwrap_err();
    assert!(
        e.is_temporary(),
        "a TLS failure may be fixed on the server: {e}"
    );
    // Plain to a server that requires STARTTLS: refused.
    let plain = SmtpNotifier::new(config(server.port)).unwrap();
    assert!(plain
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ru))
        .await
        .is_err());
    assert_eq!(server.messages().len(), 1);
    server.stop();

    // Implicit TLS.
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(
        dir.path(),
        ServerOptions {
            tls: ServerTls::Implicit(cert, key),
            ..ServerOptions::default()
        },
    );
    let tls = SmtpNotifier::new(SmtpConfig {
        security: Security::Tls,
        root_certificates_pem: vec![pem],
        ..config(server.port)
    })
    .unwrap();
    tls.deliver(Uuid::new_v4(), &email("a@example.kg", Language::En))
        .await
        .unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_pdf_renderer_adds_the_receipt_as_an_attachment() {
    if !smtp_server_available("a_pdf_renderer_adds_the_receipt_as_an_attachment") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let notifier = SmtpNotifier::new(config(server.port))
        .unwrap()
        .with_pdf_renderer(Arc::new(|r: &Receipt, lang: Language| {
            Some(format!("%PDF-1.7\n% {} {}\n%%EOF\n", r.number, lang).into_bytes())
        }));
    notifier
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ky))
        .await
        .unwrap();
    let m = &server.messages()[0];
    assert_eq!(m.field("content_type"), "multipart/mixed");
    let parts = m.parts();
    let types: Vec<&str> = parts
        .iter()
        .map(|p| p["content_type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        types,
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "application/pdf"
        ]
    );
    let pdf = &parts[4];
    assert_eq!(
        pdf["filename"].as_str().unwrap(),
        format!("receipt-{}.pdf", receipt().number)
    );
    assert_eq!(pdf["head"].as_str().unwrap(), "%PDF-1.7");
    assert!(m.text_part("text/plain").unwrap().contains("PDF"));

    // A renderer that cannot render: the e-mail goes without attachment.
    let notifier = SmtpNotifier::new(config(server.port))
        .unwrap()
        .with_pdf_renderer(Arc::new(|_: &Receipt, _: Language| None));
    notifier
        .deliver(Uuid::new_v4(), &email("a@example.kg", Language::Ky))
        .await
        .unwrap();
    assert_eq!(
        server.messages()[1].field("content_type"),
        "multipart/alternative"
    );
}
