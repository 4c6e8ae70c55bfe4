//! The commands.

use std::io::Write;
use std::path::Path;

use chrono::Duration;
use serde::Serialize;
use tolom_core::money::{Currency, Money};
use tolom_core::access::Role;
use tolom_core::outbox::OutboxStatus;
use tolom_core::ports::{PaymentQuery, StoreError};
use tolom_core::usecases::IssueCharge;
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

use crate::cli::*;
use crate::compose::{self, KeyPolicy, Stores};
use crate::config::Settings;
use crate::CliError;

/// The actor recorded in the audit log for command-line actions.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn print_json<T: Serialize>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

fn parse_code(
    tolom: &tolom_core::Tolom,
    parts: &[String],
) -> Result<tolom_core::code::PaymentCode, CliError> {
    tolom
        .config()
        .code_format
        .parse(&parts.join(" "))
        .map_err(CliError::refused)
}

fn parse_id(s: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(s.trim()).map_err(|_| CliError::Refused {
        code: "payment.not_found".into(),
        message: format!("{s:?} is not a payment id"),
    })
}

fn money(s: &str) -> Result<Money, CliError> {
    Money::parse(s, Currency::KGS).map_err(|e| CliError::Usage(format!("amount {s:?}: {e}")))
}

fn write_out(out: Option<&Path>, text: &str) -> Result<(), CliError> {
    match out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes())
                .map_err(|e| CliError::Usage(e.to_string()))
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    let json = cli.json;
    match cli.command {
        Command::Config(ConfigCommand::Show) => {
            print!("{}", settings.show());
            Ok(())
        }
        Command::Keys(k) => keys(&settings, k),
        Command::Serve(args) => crate::serve::serve(settings, args).await,
        command => {
            let stores = compose::open_store(&settings).await?;
            run_with_store(&settings, &stores, command, json).await
        }
    }
}

fn keys(settings: &Settings, k: KeysCommand) -> Result<(), CliError> {
    match k {
        KeysCommand::Generate { out } => {
            let path = out.unwrap_or_else(|| settings.signing_key_file());
            let seed = compose::generate_key_file(&path)?;
            let signer = tolom_core::ports::Ed25519Signer::from_seed(seed);
            println!("wrote {} (mode 0600)", path.display());
            println!("public key: {}", signer.public_key());
            Ok(())
        }
        KeysCommand::Public => {
            let seed = compose::signing_seed(settings, KeyPolicy::Required)?;
            println!(
                "{}",
                tolom_core::ports::Ed25519Signer::from_seed(seed).public_key()
            );
            Ok(())
        }
    }
}

async fn run_with_store(
    settings: &Settings,
    stores: &Stores,
    command: Command,
    json: bool,
) -> Result<(), CliError> {
    let policy = match &command {
        Command::Migrate => KeyPolicy::CreateIfMissing,
        Command::Receipts(_) => KeyPolicy::Required,
        _ => KeyPolicy::Optional,
    };
    let tolom = compose::tolom(settings, stores, policy, Vec::new())?;
    let now = tolom.clock().now();
    let actor = cli_actor();
    match command {
        Command::Serve(_) | Command::Config(_) | Command::Keys(_) => Ok(()),
        Command::Migrate => {
            // Opening the store ran the migrations.
            if json {
                print_json(&serde_json::json!({"migrated": true, "store": stores.kind}))
            } else {
                println!("database is up to date ({})", stores.kind);
                Ok(())
            }
        }
        Command::Codes(CodesCommand::Issue(a)) => {
            let expires_at = match &a.expires {
                Some(v) => tolom_admin::api::parse_when(v, true)
                    .ok_or_else(|| CliError::Usage(format!("--expires {v:?}: not a date")))?,
                None => now + Duration::days(i64::from(a.valid_days)),
            };
            let charge = tolom
                .issue_charge(IssueCharge {
                    service: a.service,
                    urgency: a.urgency,
                    amount: a.amount.as_deref().map(money).transpose()?,
                    payer: a.payer,
                    code: a.code,
                    expires_at,
                    agency_ref: a.agency_ref,
                })
                .await
                .map_err(CliError::refused)?;
            if json {
                print_json(&charge)
            } else {
                println!("code      {}", charge.code.as_str());
                println!("service   {}", charge.service);
                println!("payer     {}", charge.payer.full_name);
                println!("amount    {}", charge.amount);
                println!(
                    "expires   {}",
                    tolom_core::time::format_bishkek(charge.expires_at)
                );
                Ok(())
            }
        }
        Command::Codes(CodesCommand::Import(a)) => {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} rows {elapsed_precise}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let report = crate::import::import(&tolom, &a.file, a.valid_days, &progress).await?;
            bar.finish_and_clear();
            if json {
                print_json(&report)?;
            } else {
                for b in &report.bad {
                    eprintln!("{}:{}: {}", a.file.display(), b.line, b.reason);
                }
                println!(
                    "{} rows: {} issued, {} already issued, {} refused",
                    report.rows,
                    report.issued,
                    report.already_issued,
                    report.bad.len()
                );
            }
            if report.bad.is_empty() {
                Ok(())
            } else {
                Err(CliError::CheckFailed(format!(
                    "{} rows refused (valid rows were imported)",
                    report.bad.len()
                )))
            }
        }
        Command::Codes(CodesCommand::Show { code }) => {
            let code = parse_code(&tolom, &code)?;
            let charge =
                tolom
                    .store()
                    .charge_by_code(&code)
                    .await?
                    .ok_or_else(|| CliError::Refused {
                        code: "code.not_found".into(),
                        message: format!("no charge with code {}", code.as_str()),
                    })?;
            let payments = tolom
                .store()
                .list_payments(&PaymentQuery {
                    charge_id: Some(charge.id),
                    ..PaymentQuery::default()
                })
                .await?;
            if json {
                return print_json(&serde_json::json!({"charge": charge, "payments": payments}));
            }
            println!("code        {}", charge.code.as_str());
            println!("service     {}", charge.service);
            println!("urgency     {}", charge.urgency.as_deref().unwrap_or("-"));
            println!("payer       {}", charge.payer.full_name);
            println!("amount      {}", charge.amount);
            println!("status      {}", charge.effective_status(now).as_str());
            println!(
                "issued      {}",
                tolom_core::time::format_bishkek(charge.issued_at)
            );
            println!(
                "expires     {}",
                tolom_core::time::format_bishkek(charge.expires_at)
            );
            println!(
                "agency ref  {}",
                charge.agency_ref.as_deref().unwrap_or("-")
            );
            for p in payments {
                println!("payment     {}  {}  {}", p.id, p.state.as_str(), p.total);
            }
            Ok(())
        }
        Command::Codes(CodesCommand::Cancel { code }) => {
            let code = parse_code(&tolom, &code)?;
            let charge = tolom
                .cancel_charge(&code)
                .await
                .map_err(CliError::refused)?;
            tolom.store().events_of(charge.id).await.map(|_| ())?;
            if json {
                print_json(&charge)
            } else {
                println!("cancelled {}", charge.code.as_str());
                Ok(())
            }
        }
        Command::Payments(PaymentsCommand::List(a)) => {
            let states = a
                .status
                .as_deref()
                .map(tolom_admin::api::parse_states)
                .transpose()
                .map_err(CliError::Usage)?
                .unwrap_or_default();
            let when = |v: &Option<String>, end: bool| {
                v.as_deref()
                    .map(|s| {
                        tolom_admin::api::parse_when(s, end)
                            .ok_or_else(|| CliError::Usage(format!("{s:?} is not a date")))
                    })
                    .transpose()
            };
            let payments = tolom
                .store()
                .list_payments(&PaymentQuery {
                    states,
                    service: a.service,
                    created_from: when(&a.from, false)?,
                    created_to: when(&a.to, true)?,
                    limit: a.limit,
                    ..PaymentQuery::default()
                })
                .await?;
            if json {
                return print_json(&payments);
            }
            let rows: Vec<Vec<String>> = payments
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        tolom_core::time::format_bishkek(p.created_at),
                        p.code.as_str().to_string(),
                        p.service.to_string(),
                        p.state.as_str().to_string(),
                        p.total.to_string(),
                        p.refunded.to_string(),
                        p.receipt_number.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                &[
                    "ID", "CREATED", "CODE", "SERVICE", "STATUS", "TOTAL", "REFUNDED", "RECEIPT",
                ],
                &rows,
            );
            Ok(())
        }
        Command::Payments(PaymentsCommand::Show { id }) => {
            let id = parse_id(&id)?;
            let p = tolom.payment(id).await.map_err(CliError::refused)?;
            let refunds = tolom.store().refunds_of(id).await?;
            let events = tolom.store().events_of(id).await?;
            if json {
                return print_json(
                    &serde_json::json!({"payment": p, "refunds": refunds, "events": events}),
                );
            }
            println!("payment     {}", p.id);
            println!("code        {}", p.code.as_str());
            println!("service     {}", p.service);
            println!("status      {}", p.state.as_str());
            println!("amount      {} + fee {} = {}", p.amount, p.fee, p.total);
            println!("refunded    {}", p.refunded);
            if let Some(c) = &p.card {
                println!("card        {} {:?}", c.masked_pan.as_str(), c.brand);
            }
            println!("receipt     {}", p.receipt_number.as_deref().unwrap_or("-"));
            println!(
                "created     {}",
                tolom_core::time::format_bishkek(p.created_at)
            );
            for r in refunds {
                println!(
                    "refund      {}  {}  {}  {}",
                    r.id,
                    r.state.as_str(),
                    r.amount,
                    r.reason
                );
            }
            for e in events {
                println!(
                    "event       {}  {}",
                    tolom_core::time::format_bishkek(e.at),
                    e.kind
                );
            }
            Ok(())
        }
        Command::Refund(a) => {
            let id = parse_id(&a.payment)?;
            let amount = a.amount.as_deref().map(money).transpose()?;
            let key = a.key.unwrap_or_else(|| {
                let h = tolom_core::access::hash_token(&format!(
                    "{id}|{}|{}",
                    a.amount.as_deref().unwrap_or("all"),
                    a.reason
                ));
                format!("cli-{}", &h[..32])
            });
            let refund = tolom
                .refund(id, amount, &a.reason, &key)
                .await
                .map_err(CliError::refused)?;
            stores
                .ops
                .append_audit(
                    now,
                    &actor,
                    "admin.refund",
                    &id.to_string(),
                    serde_json::json!({"refund_id": refund.id, "amount": refund.amount, "state": refund.state.as_str()}),
                )
                .await?;
            if json {
                print_json(&refund)
            } else {
                println!(
                    "refund {} of {}: {}",
                    refund.id,
                    refund.amount,
                    refund.state.as_str()
                );
                Ok(())
            }
        }
        Command::Reconcile => {
            let r = tolom.reconcile().await?;
            stores
                .ops
                .append_audit(
                    now,
                    &actor,
                    "admin.reconcile",
                    "payments",
                    serde_json::to_value(&r).unwrap_or_default(),
                )
                .await?;
            if json {
                print_json(&r)
            } else {
                println!(
                    "checked {}: {} succeeded, {} declined, {} failed, {} expired, {} unsettled, {} refunds settled, {} recovered, {} errors",
                    r.checked, r.succeeded, r.declined, r.failed, r.expired, r.unsettled, r.refunds_settled, r.recovered, r.errors
                );
                Ok(())
            }
        }
        Command::Expire => {
            let r = tolom.expire_stale().await?;
            if json {
                print_json(&r)
            } else {
                println!(
                    "{} payments expired, {} settled, {} charges expired, {} errors",
                    r.payments_expired, r.payments_settled, r.charges_expired, r.errors
                );
                Ok(())
            }
        }
        Command::Outbox(OutboxCommand::Status { status, limit }) => {
            let status = status
                .as_deref()
                .map(|s| {
                    OutboxStatus::parse(s)
                        .ok_or_else(|| CliError::Usage(format!("unknown outbox status {s:?}")))
                })
                .transpose()?;
            let messages = tolom.store().outbox_list(status, limit).await?;
            if json {
                return print_json(&messages);
            }
            let mut counts = std::collections::BTreeMap::new();
            for m in tolom.store().outbox_list(None, 0).await? {
                *counts.entry(m.status.as_str()).or_insert(0u64) += 1;
            }
            println!(
                "pending {}  delivered {}  dead {}",
                counts.get("pending").unwrap_or(&0),
                counts.get("delivered").unwrap_or(&0),
                counts.get("dead").unwrap_or(&0)
            );
            let rows: Vec<Vec<String>> = messages
                .iter()
                .map(|m| {
                    vec![
                        m.id.to_string(),
                        format!("{:?}", m.payload.channel()).to_lowercase(),
                        m.status.as_str().to_string(),
                        m.attempts.to_string(),
                        tolom_core::time::format_bishkek(m.next_attempt_at),
                        m.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                &["ID", "CHANNEL", "STATUS", "ATTEMPTS", "NEXT", "LAST ERROR"],
                &rows,
            );
            Ok(())
        }
        Command::Outbox(OutboxCommand::Retry { ids, all_dead }) => {
            let mut targets: Vec<Uuid> = ids
                .iter()
                .map(|s| {
                    Uuid::parse_str(s).map_err(|_| CliError::Usage(format!("{s:?} is not an id")))
                })
                .collect::<Result<_, _>>()?;
            if all_dead {
                targets.extend(
                    tolom
                        .store()
                        .outbox_list(Some(OutboxStatus::Dead), 0)
                        .await?
                        .into_iter()
                        .map(|m| m.id),
                );
            }
            if targets.is_empty() {
                return Err(CliError::Usage("give message ids or --all-dead".into()));
            }
            let mut retried = 0;
            for id in &targets {
                match tolom.store().outbox_retry(*id, now).await {
                    Ok(()) => retried += 1,
                    Err(StoreError::NotFound) => {
                        return Err(CliError::Refused {
                            code: "outbox.not_dead".into(),
                            message: format!("no dead message {id}"),
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            stores
                .ops
                .append_audit(
                    now,
                    &actor,
                    "admin.outbox.retry",
                    "outbox",
                    serde_json::json!({"messages": targets}),
                )
                .await?;
            if json {
                print_json(&serde_json::json!({"retried": retried}))
            } else {
                println!("{retried} messages queued again");
                Ok(())
            }
        }
        Command::Report(a) => {
            let today = tolom_core::time::to_bishkek(now).date_naive();
            let from = a.from.unwrap_or(today);
            let to = a.to.unwrap_or(from);
            let rows =
                tolom_admin::report(tolom.store().as_ref(), from, to, a.service.as_deref()).await?;
            let format = if json { Format::Json } else { a.format };
            let text = match format {
                Format::Csv => tolom_admin::report_csv(&rows),
                Format::Json => {
                    serde_json::to_string_pretty(&rows)
                        .map_err(|e| CliError::Usage(e.to_string()))?
                        + "\n"
                }
                Format::Table => {
                    let mut s = format!(
                        "{:<10}  {:<24}  {:>8}  {:>12}  {:>10}  {:>12}  {:>12}  {:>12}\n",
                        "DAY", "SERVICE", "PAYMENTS", "AMOUNT", "FEE", "TOTAL", "REFUNDED", "NET"
                    );
                    for r in &rows {
                        s.push_str(&format!(
                            "{:<10}  {:<24}  {:>8}  {:>12}  {:>10}  {:>12}  {:>12}  {:>12}\n",
                            r.day.to_string(),
                            r.service,
                            r.payments,
                            r.amount.amount().to_string(),
                            r.fee.amount().to_string(),
                            r.total.amount().to_string(),
                            r.refunded.amount().to_string(),
                            r.net.amount().to_string()
                        ));
                    }
                    s
                }
            };
            write_out(a.out.as_deref(), &text)
        }
        Command::Receipts(ReceiptsCommand::Verify { number, signature }) => {
            match tolom
                .verify_receipt(&number, &signature)
                .await
                .map_err(CliError::refused)?
            {
                Some(r) => {
                    if json {
                        print_json(&serde_json::json!({"genuine": true, "receipt": r}))?;
                    } else {
                        println!(
                            "genuine: receipt {} for {} ({}), {}",
                            r.number, r.total, r.service, r.status
                        );
                    }
                    Ok(())
                }
                None => {
                    if json {
                        print_json(&serde_json::json!({"genuine": false}))?;
                    }
                    Err(CliError::CheckFailed(format!(
                        "receipt {number} is NOT genuine (unknown number or wrong signature)"
                    )))
                }
            }
        }
        Command::Terms(TermsCommand::Publish(a)) => {
            let effective_at =
                tolom_admin::api::parse_when(&a.effective, false).ok_or_else(|| {
                    CliError::Usage(format!("--effective {:?}: not a date", a.effective))
                })?;
            let read = |p: &Path| {
                std::fs::read_to_string(p)
                    .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", p.display())))
            };
            let edition = TermsEdition {
                id: a.id.clone(),
                published_at: now,
                effective_at,
                last_changed: a
                    .last_changed
                    .unwrap_or_else(|| tolom_core::time::to_bishkek(effective_at).date_naive()),
                text_ky: read(&a.ky)?,
                text_ru: read(&a.ru)?,
                text_en: read(&a.en)?,
            };
            if [&edition.text_ky, &edition.text_ru, &edition.text_en]
                .iter()
                .any(|t| t.trim().is_empty())
            {
                return Err(CliError::Usage(
                    "every language needs a non-empty text".into(),
                ));
            }
            tolom.publish_terms(edition).await.map_err(|e| match e {
                StoreError::Invariant(m) => CliError::Refused {
                    code: "terms.exists".into(),
                    message: format!("edition {} was already published ({m})", a.id),
                },
                other => other.into(),
            })?;
            stores
                .ops
                .append_audit(
                    now,
                    &actor,
                    "terms.published",
                    &a.id,
                    serde_json::json!({"effective_at": effective_at}),
                )
                .await?;
            println!(
                "published edition {} (in force from {})",
                a.id,
                tolom_core::time::format_bishkek(effective_at)
            );
            Ok(())
        }
        Command::Terms(TermsCommand::List) => {
            let editions = tolom.store().terms_editions().await?;
            if json {
                return print_json(&editions);
            }
            let rows: Vec<Vec<String>> = editions
                .iter()
                .map(|e| {
                    vec![
                        e.id.clone(),
                        tolom_core::time::format_bishkek(e.effective_at),
                        tolom_core::time::format_bishkek(e.published_at),
                        e.last_changed.to_string(),
                    ]
                })
                .collect();
            table(&["ID", "EFFECTIVE", "PUBLISHED", "LAST CHANGED"], &rows);
            Ok(())
        }
        Command::Tokens(TokensCommand::Create { name, role }) => {
            let role = Role::parse(&role).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown role {role:?} (issuer, operator or auditor)"
                ))
            })?;
            let t = tolom_admin::create_token(stores.ops.as_ref(), &name, role, &actor, now)
                .await
                .map_err(|e| match e {
                    StoreError::Invariant(m) => CliError::Refused {
                        code: "token.exists".into(),
                        message: m,
                    },
                    other => other.into(),
                })?;
            if json {
                print_json(
                    &serde_json::json!({"name": t.token.name, "role": role.as_str(), "secret": t.secret}),
                )
            } else {
                println!(
                    "token {} ({}) created. Its secret, shown only now:",
                    t.token.name,
                    role.as_str()
                );
                println!("{}", t.secret);
                Ok(())
            }
        }
        Command::Tokens(TokensCommand::List) => {
            let tokens = stores.ops.list_tokens().await?;
            if json {
                let v: Vec<_> = tokens
                    .iter()
                    .map(|t| serde_json::json!({"name": t.name, "role": t.role.as_str(), "created_at": t.created_at, "revoked_at": t.revoked_at}))
                    .collect();
                return print_json(&v);
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        t.role.as_str().to_string(),
                        tolom_core::time::format_bishkek(t.created_at),
                        t.revoked_at
                            .map(tolom_core::time::format_bishkek)
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(&["NAME", "ROLE", "CREATED", "REVOKED"], &rows);
            Ok(())
        }
        Command::Tokens(TokensCommand::Revoke { name }) => {
            tolom_admin::revoke_token(stores.ops.as_ref(), &name, &actor, now)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => CliError::Refused {
                        code: "token.not_found".into(),
                        message: format!("no active token named {name}"),
                    },
                    other => other.into(),
                })?;
            println!("revoked {name}");
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let r = tolom_admin::verify_audit(stores.ops.as_ref()).await?;
            if json {
                print_json(&r)?;
            }
            match &r.problem {
                None => {
                    if !json {
                        println!("audit log intact: {} entries, chain verified", r.entries);
                    }
                    Ok(())
                }
                Some(p) => Err(CliError::CheckFailed(format!("audit log TAMPERED: {p}"))),
            }
        }
        Command::Audit(AuditCommand::List { last }) => {
            let all = stores.ops.audit_entries(1, 0).await?;
            let tail = &all[all.len().saturating_sub(last)..];
            if json {
                return print_json(&tail);
            }
            let rows: Vec<Vec<String>> = tail
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        tolom_core::time::format_bishkek(e.at),
                        e.actor.clone(),
                        e.action.clone(),
                        e.subject.clone(),
                    ]
                })
                .collect();
            table(&["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT"], &rows);
            Ok(())
        }
        Command::Retention(RetentionCommand::Run { days }) => {
            let days = days.unwrap_or(settings.retention_days);
            let n = tolom_admin::run_retention(stores.ops.as_ref(), days, &actor, now).await?;
            if json {
                print_json(&serde_json::json!({"anonymised": n, "days": days}))
            } else {
                println!("{n} payments anonymised (settled more than {days} days ago)");
                Ok(())
            }
        }
        Command::Subject(SubjectCommand::Export { phone, email, out }) => {
            if phone.is_none() && email.is_none() {
                return Err(CliError::Usage("give --phone or --email".into()));
            }
            let export = tolom_admin::subject_export(
                tolom.store(),
                stores.ops.as_ref(),
                phone,
                email,
                &actor,
                now,
            )
            .await?;
            let text = serde_json::to_string_pretty(&export)
                .map_err(|e| CliError::Usage(e.to_string()))?
                + "\n";
            write_out(out.as_deref(), &text)?;
            if out.is_some() {
                eprintln!("{} payments exported", export.payments.len());
            }
            Ok(())
        }
    }
}
