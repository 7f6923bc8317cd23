//! The reminder scan over many open cases: `cargo bench --bench reminder_scan`.
//!
//! Fills a database with open cases (received over the last six weeks, so every stage of the
//! 5-working-day window and some overdue cases are present, two holders each), then times
//! `run_scheduled_notices`: the first scan, which finds every milestone already passed and
//! records it, and the next day's scan, the one a running portal does each day. SQLite by
//! default; PostgreSQL with `SPEAKUP_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres`
//! (a database of its own is created and dropped). `SPEAKUP_BENCH_CASES` sets the count
//! (default 100 000). Under `cargo test` (no `--bench` argument) it runs once with 500 cases, to
//! show it still works.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use speakup::clock::Clock;
use speakup::config::{DatabaseUrl, RawSettings};
use speakup::crypto::{PasswordCost, Secret};
use speakup::model::Role;
use speakup::service::Portal;
use speakup::service::accounts::{Actor, NewAccount};
use speakup::service::organisations::ServiceSet;
use speakup::store::connection::DbConnection;
use speakup::store::schema::{cases, key_wraps, procedure_events};
use speakup::store::{Store, StoreError};
use time::macros::datetime;
use time::{Date, Duration};

const ORGANISATION: &str = "nhs-bench";
/// Rows per insert statement (SQLite allows 32 766 bound parameters).
const CHUNK: usize = 2_000;

/// A PostgreSQL database made for this run and dropped at the end.
struct BenchDatabase {
    admin_url: String,
    name: String,
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn must<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("benchmark setup failed ({what}): {error}"),
    }
}

fn open_portal(dir: &std::path::Path) -> (Portal, Clock, Option<BenchDatabase>, &'static str) {
    let raw = RawSettings {
        data_dir: dir.to_path_buf(),
        public_url: "https://speakup.bench".to_owned(),
        pool_size: 2,
        ..RawSettings::default()
    };
    let mut settings = must("settings", raw.validate());
    let (database, backend) = match std::env::var("SPEAKUP_BENCH_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("speakup_bench_{}", std::process::id());
            let mut admin = must("connect", PgConnection::establish(&admin_url));
            must(
                "create database",
                admin.batch_execute(&format!("CREATE DATABASE {name}")),
            );
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            settings.database = DatabaseUrl::Postgres(format!("{base}/{name}"));
            (Some(BenchDatabase { admin_url, name }), "PostgreSQL")
        }
        _ => (None, "SQLite"),
    };
    let store = must("open store", Store::open(&settings.database, 2));
    let clock = Clock::fixed(datetime!(2026-11-16 06:00 UTC));
    let portal = Portal::new(store, clock.clone(), settings)
        .with_password_cost(PasswordCost::INSECURE_FOR_TESTS);
    (portal, clock, database, backend)
}

/// An organisation with two intake contacts, a lead and a champion; answers the holders' ids.
fn people(portal: &Portal) -> (String, Vec<String>) {
    let organisation = must(
        "organisation",
        portal.add_organisation(
            ORGANISATION,
            "NHS Bench",
            ServiceSet {
                nhs: true,
                local_authority: false,
            },
        ),
    );
    let mut holders = Vec::new();
    for (email, role) in [
        ("cora@bench.scot", Role::Contact),
        ("colm@bench.scot", Role::Contact),
        ("lee@bench.scot", Role::Lead),
    ] {
        let created = must(
            "account",
            portal.add_account(
                &Actor::CommandLine,
                NewAccount {
                    organisation: ORGANISATION.to_owned(),
                    email: email.to_owned(),
                    name: email.to_owned(),
                    job_title: String::new(),
                    role,
                    intake: role == Role::Contact,
                    password: Secret::new("a long enough bench password".to_owned()),
                },
            ),
        );
        if role == Role::Contact {
            holders.push(created.user.id.as_str().to_owned());
        }
    }
    (organisation.id.as_str().to_owned(), holders)
}

/// `count` open cases, received on the 30 days before `today` in turn, each with its received
/// event and two holders' key wraps. Written straight to the tables: the scan reads only these.
fn fill(portal: &Portal, organisation: &str, holders: &[String], count: usize, today: Date) {
    let started = Instant::now();
    for chunk_start in (0..count).step_by(CHUNK) {
        let chunk = chunk_start..(chunk_start + CHUNK).min(count);
        let ids: Vec<String> = chunk
            .clone()
            .map(|n| format!("bench-case-{n:07}"))
            .collect();
        let received: Vec<Date> = chunk
            .clone()
            .map(|n| today - Duration::days(1 + (n % 42) as i64))
            .collect();
        let case_rows: Vec<_> = ids
            .iter()
            .zip(&received)
            .map(|(id, received_on)| {
                (
                    cases::id.eq(id.clone()),
                    cases::organisation_id.eq(organisation),
                    cases::reference.eq(format!("SU-{}", &id[11..])),
                    cases::lookup_id.eq(id.as_bytes().to_vec()),
                    cases::reporter_public_key.eq(vec![7_u8; 32]),
                    cases::service.eq("nhs"),
                    cases::anonymity.eq("confidential"),
                    cases::topic.eq("other"),
                    cases::received_on.eq(*received_on),
                    cases::next_record_seq.eq(1),
                )
            })
            .collect();
        let event_rows: Vec<_> = ids
            .iter()
            .zip(&received)
            .map(|(id, received_on)| {
                (
                    procedure_events::id.eq(format!("event-{id}")),
                    procedure_events::case_id.eq(id.clone()),
                    procedure_events::seq.eq(0),
                    procedure_events::kind.eq("received"),
                    procedure_events::occurred_on.eq(*received_on),
                )
            })
            .collect();
        let wrap_rows: Vec<_> = ids
            .iter()
            .zip(&received)
            .flat_map(|(id, received_on)| {
                holders.iter().map(move |holder| {
                    (
                        key_wraps::case_id.eq(id.clone()),
                        key_wraps::recipient.eq(format!("user:{holder}")),
                        key_wraps::key_kind.eq("case"),
                        key_wraps::wrapped.eq(vec![1_u8; 80]),
                        key_wraps::granted_on.eq(*received_on),
                    )
                })
            })
            .collect();
        must(
            "fill",
            portal.store.write(|tx| -> Result<(), StoreError> {
                // Multi-row inserts are per backend in diesel.
                macro_rules! insert_all {
                    ($connection:expr) => {{
                        diesel::insert_into(cases::table)
                            .values(&case_rows)
                            .execute($connection)?;
                        diesel::insert_into(procedure_events::table)
                            .values(&event_rows)
                            .execute($connection)?;
                        diesel::insert_into(key_wraps::table)
                            .values(&wrap_rows)
                            .execute($connection)?;
                    }};
                }
                match tx {
                    DbConnection::Sqlite(sqlite) => insert_all!(sqlite),
                    DbConnection::Postgres(pg) => insert_all!(pg),
                }
                Ok(())
            }),
        );
    }
    eprintln!("filled {count} cases in {:.1?}", started.elapsed());
}

/// This process's CPU time (user + system) in seconds, from `/proc/self/stat` (Linux; 0 where
/// it cannot be read). On a machine shared with other work, wall time says more about the other
/// work than about the scan; CPU time does not (with SQLite the database runs in this process).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name; the
    // kernel counts in clock ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let count: usize = match std::env::var("SPEAKUP_BENCH_CASES") {
        Ok(value) => must("SPEAKUP_BENCH_CASES", value.parse()),
        Err(_) if benching => 100_000,
        Err(_) => 500,
    };
    let dir = must("temporary directory", tempfile::tempdir());
    let (portal, clock, _database, backend) = open_portal(dir.path());
    let (organisation, holders) = people(&portal);
    fill(&portal, &organisation, &holders, count, clock.today());

    let (started, cpu) = (Instant::now(), cpu_seconds());
    let first = must("first scan", portal.run_scheduled_notices());
    let (first_took, first_cpu) = (started.elapsed(), cpu_seconds() - cpu);
    clock.advance(Duration::days(1));
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let next = must("next day's scan", portal.run_scheduled_notices());
    let (next_took, next_cpu) = (started.elapsed(), cpu_seconds() - cpu);
    assert!(
        first.reminders > 0,
        "the bench data must call for reminders"
    );
    println!(
        "{backend}, {count} open cases: first scan {:.3} s wall, {:.2} s CPU in this process \
         ({} notices queued); next day's scan {:.3} s wall, {:.2} s CPU ({} notices queued)",
        first_took.as_secs_f64(),
        first_cpu,
        first.reminders,
        next_took.as_secs_f64(),
        next_cpu,
        next.reminders,
    );
}
