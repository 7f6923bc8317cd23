//! The reminder scan over many open cases: `cargo bench --bench reminder_scan`.
//!
//! Fills a database with open cases (see `history`: stage 1 and stage 2 cases, some extended,
//! spread over twelve weeks so every milestone and overdue cases are present; two holders
//! each), builds the reminder schedule as the migration's backfill does, then times
//! `run_scheduled_notices`: the first scan, which finds every milestone already passed and
//! records it, and the scans of the following days (`SPEAKUP_BENCH_DAYS`, default 14), the
//! ones a running portal does; it prints the next day's and the worst day's. SQLite by
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
use speakup::service::notices::ScheduledSummary;
use speakup::service::organisations::ServiceSet;
use speakup::store::connection::DbConnection;
use speakup::store::reminders;
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

/// A weekday on or after `day` (an extension's date is a working day).
fn weekday_from(day: Date) -> Date {
    match day.weekday() {
        time::Weekday::Saturday => day + Duration::days(2),
        time::Weekday::Sunday => day + Duration::days(1),
        _ => day,
    }
}

/// The procedure events of bench case `n`, received before `today`: a realistic spread of open
/// cases at every point of their windows. Half are at stage 1 (received over the last six weeks,
/// so every milestone and some overdue cases are present); four in ten at stage 2 (started
/// over the last twelve weeks: acknowledgement and response windows, some overdue); one in ten
/// at stage 2, acknowledged and extended (a later response date and the 20-day update window).
fn history(n: usize, today: Date) -> Vec<(&'static str, Date, Option<Date>, Option<&'static str>)> {
    let spread = |days: usize, offset: i64| {
        today - Duration::days(offset + i64::try_from(n / 10 % days).unwrap_or(0))
    };
    match n % 10 {
        0..=4 => vec![("received", spread(42, 1), None, None)],
        5..=8 => {
            let received = spread(84, 1);
            vec![
                ("received", received, None, None),
                ("stage2", received, None, Some("complex")),
            ]
        }
        _ => {
            let received = spread(84, 8);
            vec![
                ("received", received, None, None),
                ("stage2", received, None, Some("complex")),
                ("acknowledge", received + Duration::days(1), None, None),
                (
                    "extend",
                    received + Duration::days(7),
                    Some(weekday_from(received + Duration::days(63))),
                    None,
                ),
            ]
        }
    }
}

/// `count` open cases (see [`history`]), each with its events and two holders' key wraps,
/// written straight to the tables, then scheduled the way the migration's backfill does it.
fn fill(portal: &Portal, organisation: &str, holders: &[String], count: usize, today: Date) {
    let started = Instant::now();
    for chunk_start in (0..count).step_by(CHUNK) {
        let chunk = chunk_start..(chunk_start + CHUNK).min(count);
        let ids: Vec<String> = chunk
            .clone()
            .map(|n| format!("bench-case-{n:07}"))
            .collect();
        let histories: Vec<_> = chunk.clone().map(|n| history(n, today)).collect();
        let received: Vec<Date> = histories.iter().map(|events| events[0].1).collect();
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
            .zip(&histories)
            .flat_map(|(id, events)| {
                events
                    .iter()
                    .enumerate()
                    .map(move |(seq, (kind, on, until, escalation))| {
                        (
                            procedure_events::id.eq(format!("event-{id}-{seq}")),
                            procedure_events::case_id.eq(id.clone()),
                            procedure_events::seq.eq(i32::try_from(seq).unwrap_or(0) + 1),
                            procedure_events::kind.eq(*kind),
                            procedure_events::occurred_on.eq(*on),
                            procedure_events::until_on.eq(*until),
                            procedure_events::escalation.eq(*escalation),
                        )
                    })
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
                        for rows in event_rows.chunks(CHUNK) {
                            diesel::insert_into(procedure_events::table)
                                .values(rows)
                                .execute($connection)?;
                        }
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

/// One timed call of `run_scheduled_notices`.
struct Timed {
    wall: f64,
    cpu: f64,
    summary: ScheduledSummary,
}

fn timed_scan(portal: &Portal, what: &str) -> Timed {
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let summary = must(what, portal.run_scheduled_notices());
    Timed {
        wall: started.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu,
        summary,
    }
}

fn describe(timed: &Timed) -> String {
    format!(
        "{:.3} s wall, {:.2} s CPU, {} notices, {} transactions (longest {:.0} ms)",
        timed.wall,
        timed.cpu,
        timed.summary.reminders,
        timed.summary.chunks,
        timed.summary.longest_chunk.as_secs_f64() * 1000.0,
    )
}

fn main() {
    let benching = std::env::args().any(|arg| arg == "--bench");
    let count: usize = match std::env::var("SPEAKUP_BENCH_CASES") {
        Ok(value) => must("SPEAKUP_BENCH_CASES", value.parse()),
        Err(_) if benching => 100_000,
        Err(_) => 500,
    };
    let days: usize = match std::env::var("SPEAKUP_BENCH_DAYS") {
        Ok(value) => must("SPEAKUP_BENCH_DAYS", value.parse()),
        Err(_) => 14,
    };
    let dir = must("temporary directory", tempfile::tempdir());
    let (portal, clock, _database, backend) = open_portal(dir.path());
    let (organisation, holders) = people(&portal);
    fill(&portal, &organisation, &holders, count, clock.today());

    // The migration's one-off backfill: every case replayed into the schedule.
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let replayed = must("backfill", portal.rebuild_reminder_schedule());
    let (backfill_wall, backfill_cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let open: i64 = must(
        "open cases",
        portal.store.read(|tx| {
            reminders::open_and_overdue(tx, clock.today())
                .map(|(open, _)| open.values().sum::<i64>())
        }),
    );
    assert_eq!(
        usize::try_from(open).unwrap_or(0),
        count,
        "every bench case must be open and scheduled"
    );
    println!(
        "{backend}, {count} open cases: backfill (one-off, at the migration) replayed {replayed} \
         cases in {backfill_wall:.3} s wall, {backfill_cpu:.2} s CPU"
    );

    // The first scan on a database never scanned records every milestone already passed.
    let first = timed_scan(&portal, "first scan");
    assert!(
        first.summary.reminders > 0,
        "the bench data must call for reminders"
    );
    println!("  first scan (one-off): {}", describe(&first));

    // Then the scan a running portal does, on each of the following days (weekends included:
    // Mondays catch up on the weekend's milestones).
    let mut worst: Option<(Date, Timed)> = None;
    let mut cpu_total = 0.0;
    for day in 0..days {
        clock.advance(Duration::days(1));
        let today = clock.today();
        let timed = timed_scan(&portal, "day's scan");
        cpu_total += timed.cpu;
        if day == 0 {
            println!("  next day's scan ({today}): {}", describe(&timed));
        }
        let again = timed_scan(&portal, "same day again");
        assert_eq!(again.summary.reminders, 0, "a second pass sends nothing");
        if worst.as_ref().is_none_or(|(_, w)| timed.wall > w.wall) {
            worst = Some((today, timed));
        }
    }
    if let Some((day, timed)) = worst {
        println!(
            "  worst of the {days} following days ({day}, {}): {}",
            day.weekday(),
            describe(&timed)
        );
    }
    if days > 0 {
        println!(
            "  mean CPU over the {days} days: {:.3} s",
            cpu_total / days as f64
        );
    }
}
