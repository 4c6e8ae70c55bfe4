//! The main subcommands against PostgreSQL (a fresh schema per run), via
//! `DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/test).
//! Whether the server must be there is `tolom_testkit::external`'s call
//! (skipped loudly on a laptop, a failure in CI).

mod common;

use predicates::prelude::*;

use common::Site;

async fn pg() -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let probe = match sqlx::PgPool::connect(&url).await {
        Ok(p) => {
            p.close().await;
            Ok(url.clone())
        }
        Err(e) => Err(format!("unreachable at {url}: {e}")),
    };
    tolom_testkit::external::require(
        "main_commands_on_postgres",
        tolom_testkit::external::External::Postgres,
        probe,
    )
}

#[tokio::test]
async fn main_commands_on_postgres() {
    let Some(url) = pg().await else { return };
    let schema = format!(
        "tolom_cli_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let site = Site::new();
    let pg = |c: &mut assert_cmd::Command| {
        c.env("TOLOM_DATABASE_URL", &url)
            .env("TOLOM_DATABASE_SCHEMA", &schema);
    };
    let run = |args: &[&str]| {
        let mut c = site.tolom();
        pg(&mut c);
        c.args(args);
        c
    };
    run(&["migrate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("postgres"));
    run(&[
        "codes",
        "issue",
        "--service",
        "passport-2020",
        "--payer",
        "Асанов Айбек",
    ])
    .assert()
    .success();
    std::fs::write(
        site.dir.path().join("c.csv"),
        "service,payer,agency_ref\npassport-2020,A,R1\nnope,B,R2\npassport-2020,C,R3\n",
    )
    .expect("csv");
    run(&["codes", "import", "c.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("c.csv:3: unknown service"));
    run(&["--json", "codes", "import", "c.csv"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"already_issued\": 2"));
    run(&["tokens", "create", "ops", "--role", "operator"])
        .assert()
        .success();
    run(&["payments", "list"]).assert().success();
    run(&["report", "--format", "csv"]).assert().success();
    run(&["reconcile"]).assert().success();
    run(&["expire"]).assert().success();
    run(&["outbox", "status"]).assert().success();
    run(&["retention", "run"]).assert().success();
    run(&["subject", "export", "--email", "x@example.kg"])
        .assert()
        .success();
    run(&["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("chain verified"));
    // Tamper with a row directly.
    let pool = sqlx::PgPool::connect(&url).await.expect("pg");
    sqlx::query(&format!(
        "ALTER TABLE \"{schema}\".audit_log DISABLE TRIGGER audit_log_append_only"
    ))
    .execute(&pool)
    .await
    .expect("disable");
    sqlx::query(&format!(
        "UPDATE \"{schema}\".audit_log SET subject = 'x' WHERE seq = 2"
    ))
    .execute(&pool)
    .await
    .expect("tamper");
    run(&["audit", "verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("entry 2 was altered"));
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .expect("drop");
    pool.close().await;
}

/// With `database.run_migrations = false` the service does not touch the
/// schema: on a schema that is not at this build's migration it refuses to
/// start and says why; once the owner ran `tolom migrate` it works. A role
/// with the tables' privileges and no right to create anything (the
/// service role of `deploy/postgres-roles.sql`) then serves.
#[tokio::test]
async fn a_service_that_does_not_migrate_checks_the_schema_and_needs_no_create_right() {
    let Some(url) = pg().await else { return };
    let schema = format!(
        "tolom_nomig_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let role = format!("{schema}_app");
    let site = Site::new();
    let run = |url: &str, args: &[&str]| {
        let mut c = site.tolom();
        c.env("TOLOM_DATABASE_URL", url)
            .env("TOLOM_DATABASE_SCHEMA", &schema)
            .env("TOLOM_DATABASE_RUN_MIGRATIONS", "false")
            .args(args);
        c
    };
    let issue = [
        "codes",
        "issue",
        "--service",
        "passport-2020",
        "--payer",
        "A B",
    ];
    // Nothing migrated yet: refused, with what to do, and nothing created.
    run(&url, &issue)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("run `tolom migrate`"))
        .stderr(predicate::str::contains("run_migrations = false"));
    // The owner migrates (always, whatever the setting).
    run(&url, &["migrate"]).assert().success();
    run(&url, &issue).assert().success();
    // A service role: the tables' rights, no CREATE anywhere.
    let pool = sqlx::PgPool::connect(&url).await.expect("pg");
    for sql in [
        format!("CREATE ROLE \"{role}\" LOGIN"),
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
        format!("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{role}\""),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA \"{schema}\" TO \"{role}\""),
        format!("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA \"{schema}\" TO \"{role}\""),
    ] {
        sqlx::query(&sql).execute(&pool).await.expect(&sql);
    }
    let mut app = url::Url::parse(&url).expect("url");
    app.set_username(&role).expect("user");
    let app = app.to_string();
    run(&app, &issue).assert().success();
    run(&app, &["payments", "list"]).assert().success();
    // The same role told to migrate is refused by the server (no CREATE):
    // the setting is what lets it run.
    let mut c = site.tolom();
    c.env("TOLOM_DATABASE_URL", &app)
        .env("TOLOM_DATABASE_SCHEMA", &schema)
        .args(issue);
    c.assert()
        .code(3)
        .stderr(predicate::str::contains("permission denied"));
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query(&format!("DROP OWNED BY \"{role}\""))
        .execute(&pool)
        .await
        .expect("drop owned");
    sqlx::query(&format!("DROP ROLE \"{role}\""))
        .execute(&pool)
        .await
        .expect("drop role");
    pool.close().await;
}
