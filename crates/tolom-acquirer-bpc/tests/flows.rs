//! Whole payments through `Tolom` with the BPC client against the emulator:
//! 3-D Secure, the hosted page, declines, refunds, abandoned challenges.

mod common;

use std::sync::Arc;

use chrono::Duration;
use tolom_bpc_emulator::OrderStatus as EmuStatus;
use tolom_core::charge::ChargeStatus;
use tolom_core::i18n::ErrorCode;
use tolom_core::money::Money;
use tolom_core::payment::{Challenge, ChallengeResponse, DeclineReason, PaymentState, RefundState};
use tolom_core::ports::{Acquirer, OrderStatus};

#[tokio::test]
async fn a_full_payment_with_a_3ds_step_ends_with_a_receipt() {
    let emu = common::emulator().await;
    let acquirer = Arc::new(common::client(&emu));
    let h = common::harness(acquirer.clone());
    let (charge, p) = common::started(&h, "Асанов Айбек Маратович").await;
    let p = common::submit(&h, &p, "4000 0000 0000 3063").await;
    assert_eq!(p.state(), PaymentState::ActionRequired);
    let challenge = p.challenge().cloned().expect("a challenge is stored");
    let Challenge::Redirect {
        url,
        method,
        fields,
    } = &challenge
    else {
        panic!("3-D Secure is a redirect to the ACS, got {challenge:?}");
    };
    assert_eq!(url, &emu.acs_url());
    assert_eq!(method, "POST");
    assert_eq!(
        fields.get("TermUrl").map(String::as_str),
        Some(emu.term_url().as_str()),
        "by default the ACS returns to the gateway, which finishes 3-D Secure"
    );
    let gateway_order = emu.order(&p.order_number()).expect("registered");
    assert_eq!(
        fields.get("MD").map(String::as_str),
        Some(gateway_order.order_id.to_string().as_str())
    );
    assert_eq!(gateway_order.status, EmuStatus::AcsStarted);
    assert_eq!(gateway_order.amount, 88_500, "amount in tyiyn");
    assert_eq!(gateway_order.currency, 417);

    // The payer's browser: ACS, one-time code, back through finish3ds.do.
    let response = common::solve_3ds(challenge, common::OTP).await;
    let p = h.tolom.complete_challenge(p.id(), &response).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded, "{p:?}");
    assert_eq!(common::approvals(&emu, &p), 1);

    let receipt = h.tolom.receipt(p.id()).await.unwrap();
    assert_eq!(receipt.total, Money::som(885));
    assert!(tolom_core::ports::receipt_signature_ok(
        &receipt,
        h.tolom.signer().as_ref()
    ));
    let approval = p.approval().cloned().expect("approval recorded");
    assert_eq!(approval.auth_code.len(), 6);
    assert_eq!(approval.rrn.len(), 12);
    assert_eq!(
        acquirer.status(&p.order_number()).await.unwrap(),
        OrderStatus::Approved {
            approval,
            refunded: Money::som(0)
        }
    );
    assert_eq!(
        h.tolom.look_up(charge.code.as_str()).await.unwrap().status,
        ChargeStatus::Paid
    );
    // The payer reloads the return page: nothing changes, no second charge.
    let again = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::default())
        .await
        .unwrap();
    assert_eq!(again.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_wrong_one_time_code_declines_with_authentication_failed() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000003063").await;
    let response = common::solve_3ds(p.challenge().cloned().unwrap(), "000000").await;
    let p = h.tolom.complete_challenge(p.id(), &response).await.unwrap();
    assert_eq!(p.state(), PaymentState::Declined);
    assert_eq!(
        p.decline_reason(),
        Some(DeclineReason::AuthenticationFailed)
    );
    assert_eq!(common::approvals(&emu, &p), 0);
}

#[tokio::test]
async fn the_portal_may_use_its_own_term_url_and_forward_pares() {
    let emu = common::emulator().await;
    let config = common::config(&emu).with_term_url("https://portal.example/payments/{order}/3ds");
    let h = common::harness(Arc::new(
        tolom_acquirer_bpc::BpcAcquirer::new(config).unwrap(),
    ));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000003063").await;
    let challenge = p.challenge().cloned().unwrap();
    let Challenge::Redirect { fields, .. } = &challenge else {
        panic!("{challenge:?}")
    };
    assert_eq!(
        fields.get("TermUrl").map(String::as_str),
        Some(format!("https://portal.example/payments/{}/3ds", p.order_number()).as_str())
    );
    // The ACS posts PaRes/MD to the portal; the portal hands them over.
    let result = common::walk_acs(&challenge, common::OTP).await;
    assert!(result.term_url.starts_with("https://portal.example/"));
    let response = ChallengeResponse {
        fields: result.fields.into_iter().collect(),
    };
    assert!(response.fields.contains_key("PaRes"));
    let p = h.tolom.complete_challenge(p.id(), &response).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded, "{p:?}");
    assert_eq!(common::approvals(&emu, &p), 1);
}

#[tokio::test]
async fn the_hosted_page_flow_takes_no_card_data() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    let p = h.tolom.submit_hosted(p.id(), "hosted-1").await.unwrap();
    assert_eq!(p.state(), PaymentState::ActionRequired);
    assert!(p.card().is_none());
    let challenge = p.challenge().cloned().unwrap();
    let Challenge::Redirect { url, method, .. } = &challenge else {
        panic!("{challenge:?}")
    };
    assert_eq!(method, "GET");
    assert!(
        url.contains("/payment/merchants/pay.html?mdOrder="),
        "{url}"
    );
    assert_eq!(
        common::client(&emu)
            .status(&p.order_number())
            .await
            .unwrap(),
        OrderStatus::Pending
    );
    // The payer leaves the page and comes back before paying: still to do.
    let back = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::default())
        .await
        .unwrap();
    assert_eq!(back.state(), PaymentState::ActionRequired);
    assert_eq!(back.challenge(), Some(&challenge), "sent to the page again");
    assert_eq!(
        common::pay_on_hosted_page(&challenge, "4111111111111111").await,
        303
    );
    let p = h
        .tolom
        .complete_challenge(p.id(), &ChallengeResponse::default())
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
    // Only the hosted page saw the card: no paymentorder.do from tolom.
    assert!(emu
        .request_log()
        .iter()
        .all(|e| e.endpoint.name() != "paymentorder.do"));
}

#[tokio::test]
async fn every_decline_card_of_the_emulator_maps_to_its_reason() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let cases = [
        ("4000000000001166", DeclineReason::InsufficientFunds),
        ("4000000000001018", DeclineReason::ExpiredCard),
        ("4000000000001000", DeclineReason::DoNotHonour),
        ("4000000000001299", DeclineReason::IncorrectCvv),
        ("4000000000002081", DeclineReason::LostOrStolen),
        ("4000000000002099", DeclineReason::LostOrStolen),
    ];
    for (i, (pan, reason)) in cases.into_iter().enumerate() {
        let (charge, p) = common::started(&h, &format!("Payer {i}")).await;
        let p = common::submit(&h, &p, pan).await;
        assert_eq!(p.state(), PaymentState::Declined, "{pan}");
        assert_eq!(p.decline_reason(), Some(reason), "{pan}");
        assert_eq!(
            h.tolom.look_up(charge.code.as_str()).await.unwrap().status,
            ChargeStatus::Unpaid,
            "a declined code can be paid again"
        );
    }
    assert_eq!(emu.orders().iter().map(|o| o.approvals).sum::<u32>(), 0);
}

#[tokio::test]
async fn refunds_partial_full_never_above_what_was_paid_and_idempotent() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (charge, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4111111111111111").await;
    assert_eq!(p.state(), PaymentState::Succeeded);
    let r1 = h
        .tolom
        .refund(p.id(), Some(Money::som(300)), "partly cancelled", "r1")
        .await
        .unwrap();
    assert_eq!(r1.state, RefundState::Succeeded);
    let same = h
        .tolom
        .refund(p.id(), Some(Money::som(300)), "partly cancelled", "r1")
        .await
        .unwrap();
    assert_eq!(same.id, r1.id, "same key, same refund");
    assert_eq!(
        emu.order(&p.order_number()).unwrap().refunded_amount,
        30_000,
        "refunded once at the bank"
    );
    let over = h
        .tolom
        .refund(p.id(), Some(Money::som(586)), "too much", "r2")
        .await
        .unwrap_err();
    assert_eq!(over.code(), "refund.exceeds_paid");
    let rest = h
        .tolom
        .refund(p.id(), None, "cancelled", "r3")
        .await
        .unwrap();
    assert_eq!(rest.state, RefundState::Succeeded);
    assert_eq!(rest.amount, Money::som(585));
    let paid = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(paid.state(), PaymentState::Refunded);
    let order = emu.order(&p.order_number()).unwrap();
    assert_eq!((order.refunded_amount, order.approvals), (88_500, 1));
    assert_eq!(order.status, EmuStatus::Refunded);
    assert_eq!(
        h.tolom.look_up(charge.code.as_str()).await.unwrap().status,
        ChargeStatus::Unpaid,
        "a full refund reopens the charge"
    );
    // The gateway itself refuses more than what is left.
    let client = common::client(&emu);
    let refused = client
        .refund(&p.order_number(), "r4", Money::som(1))
        .await
        .unwrap();
    assert!(
        matches!(refused, tolom_core::ports::RefundOutcome::Refused(_)),
        "{refused:?}"
    );
}

/// A payer who leaves 3-D Secure half done does not block the code until
/// the gateway's own session runs out (20 minutes on BPC, never on some
/// gateways): once our challenge window is over, the order is cancelled
/// at the gateway (`decline.do`), so nothing can be paid on it any more,
/// and the payment expires, freeing the code.
#[tokio::test]
async fn an_abandoned_3ds_is_cancelled_at_the_gateway_when_our_window_ends() {
    let emu = common::emulator().await;
    // The gateway's own session for the order: far longer than ours.
    let client =
        tolom_acquirer_bpc::BpcAcquirer::new(common::config(&emu).with_session_timeout_secs(3600))
            .unwrap();
    let h = common::harness(Arc::new(client));
    let (charge, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000003063").await;
    assert_eq!(p.state(), PaymentState::ActionRequired);
    // Within our window the payment waits for its payer.
    let report = h.tolom.expire_stale().await.unwrap();
    assert_eq!(report.payments_expired + report.payments_settled, 0);
    assert_eq!(
        emu.order(&p.order_number()).map(|o| o.status),
        Some(EmuStatus::AcsStarted)
    );
    h.clock.advance(Duration::minutes(31));
    let before = emu.request_log().len();
    let report = h.tolom.expire_stale().await.unwrap();
    assert_eq!(report.payments_expired, 1, "{report:?}");
    let asked: Vec<&str> = emu.request_log()[before..]
        .iter()
        .map(|e| e.endpoint.name())
        .collect();
    assert!(
        asked.contains(&"getOrderStatusExtended.do") && asked.contains(&"decline.do"),
        "the gateway was asked, then the order cancelled: {asked:?}"
    );
    assert_eq!(
        emu.order(&p.order_number()).map(|o| o.status),
        Some(EmuStatus::Declined),
        "nothing can be paid on the order any more"
    );
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Expired);
    assert_eq!(common::approvals(&emu, &p), 0);
    assert_eq!(
        h.tolom.look_up(charge.code.as_str()).await.unwrap().status,
        ChargeStatus::Unpaid
    );
}

#[tokio::test]
async fn a_payer_who_finished_3ds_just_before_expiry_is_not_expired() {
    let emu = common::emulator().await;
    let h = common::harness(Arc::new(common::client(&emu)));
    let (charge, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4000000000003063").await;
    // The browser completes 3-D Secure at the gateway, but the payer never
    // comes back to the portal.
    common::solve_3ds(p.challenge().cloned().unwrap(), common::OTP).await;
    h.clock.advance(Duration::minutes(31));
    let report = h.tolom.expire_stale().await.unwrap();
    assert_eq!(
        (report.payments_expired, report.payments_settled),
        (0, 1),
        "{report:?}"
    );
    let p = h.tolom.payment(p.id()).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    assert_eq!(common::approvals(&emu, &p), 1);
    assert_eq!(
        h.tolom.look_up(charge.code.as_str()).await.unwrap().status,
        ChargeStatus::Paid
    );
}

#[tokio::test]
async fn reverse_cancels_an_approval_and_later_calls_are_rejected() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let h = common::harness(Arc::new(common::client(&emu)));
    let (_, p) = common::started(&h, "A B").await;
    let p = common::submit(&h, &p, "4111111111111111").await;
    let order = p.order_number();
    client.reverse(&order).await.unwrap();
    client
        .reverse(&order)
        .await
        .expect("reversing again is a no-op");
    assert_eq!(client.status(&order).await.unwrap(), OrderStatus::Reversed);
    let refund = client.refund(&order, "r", Money::som(1)).await.unwrap_err();
    assert_eq!(refund.kind, tolom_core::ports::AcquirerErrorKind::Rejected);
    let unknown = client.reverse("no-such-order").await.unwrap_err();
    assert_eq!(unknown.kind, tolom_core::ports::AcquirerErrorKind::Rejected);
}
