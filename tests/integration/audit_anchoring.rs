//! Audit checkpoints: a head printed outside the database catches a log cut short or rewritten
//! and re-chained, both of which a plain `audit verify` cannot see.

use std::process::Output;

use diesel::RunQueryDsl;
use serde_json::Value;
use speakup::crypto::audit_chain::GENESIS;
use speakup::store::StoreError;
use speakup::store::audit::{self, ChainCheck, Entry};

use crate::support::TestApp;

fn speakup(app: &TestApp, args: &[&str]) -> Output {
    app.cli(args)
}

fn head(app: &TestApp) -> (i64, String) {
    let output = speakup(app, &["audit", "head"]);
    assert!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        printed["entries"].as_i64().unwrap(),
        printed["head"].as_str().unwrap().to_owned(),
    )
}

fn verify_against(app: &TestApp, entries: i64, head: &str) -> Output {
    speakup(
        app,
        &[
            "audit",
            "verify",
            "--expect-entries",
            &entries.to_string(),
            "--expect-head",
            head,
        ],
    )
}

fn sql(app: &TestApp, statement: &str) {
    app.portal()
        .store
        .write(|tx| {
            diesel::sql_query(statement)
                .execute(tx)
                .map_err(StoreError::from)
        })
        .unwrap();
}

/// Rewrites the log as an insider with database access would: drop one entry, renumber the
/// rest and recompute every hash, so the chain verifies from the start again.
fn drop_and_rechain(app: &TestApp, drop_seq: i64) {
    app.portal()
        .store
        .write(|tx| {
            let mut kept: Vec<Entry> = audit::page(tx, 0, 10_000)?
                .into_iter()
                .filter(|entry| entry.seq != drop_seq)
                .collect();
            let mut previous = GENESIS;
            for (index, entry) in kept.iter_mut().enumerate() {
                entry.seq = i64::try_from(index).unwrap() + 1;
                entry.prev_hash = previous.to_vec();
                previous = entry.expected_hash(&previous)?;
                entry.hash = previous.to_vec();
            }
            diesel::sql_query("DELETE FROM audit_log").execute(tx)?;
            for entry in &kept {
                diesel::insert_into(speakup::store::schema::audit_log::table)
                    .values(entry)
                    .execute(tx)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn a_checkpoint_catches_a_log_cut_short() {
    let app = TestApp::new();
    app.staff();
    let (entries, hash) = head(&app);
    assert_eq!(entries, 5, "five accounts created");
    assert_eq!(hash.len(), 64);
    assert!(verify_against(&app, entries, &hash).status.success());

    // More happens after the checkpoint; it still holds.
    app.add_person(
        "nhs-testshire",
        "new@testshire.scot",
        "New Person",
        speakup::model::Role::Investigator,
        false,
    );
    assert!(verify_against(&app, entries, &hash).status.success());

    // Cut the last three entries: the chain that is left verifies on its own …
    sql(&app, "DELETE FROM audit_log WHERE seq > 3");
    assert_eq!(
        app.portal().verify_audit_log().unwrap(),
        ChainCheck::Intact { entries: 3 }
    );
    assert!(speakup(&app, &["audit", "verify"]).status.success());
    // … but not against the checkpoint.
    let output = verify_against(&app, entries, &hash);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["intact"], false);
    assert_eq!(printed["first_broken"], 4);
}

#[test]
fn a_checkpoint_catches_a_rewritten_and_rechained_log() {
    let app = TestApp::new();
    app.staff();
    let (entries, hash) = head(&app);
    app.add_person(
        "nhs-testshire",
        "new@testshire.scot",
        "New Person",
        speakup::model::Role::Investigator,
        false,
    );
    drop_and_rechain(&app, 2);
    assert!(
        speakup(&app, &["audit", "verify"]).status.success(),
        "re-chained, the log verifies on its own"
    );
    let output = verify_against(&app, entries, &hash);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["first_broken"], entries);

    // A malformed checkpoint is a usage error, not a pass.
    let output = verify_against(&app, entries, "not-hex");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn board_papers_print_the_current_checkpoint() {
    let app = TestApp::new();
    app.staff();
    let (entries, hash) = head(&app);
    let output = speakup(
        &app,
        &[
            "report",
            "kpi",
            "--org",
            "nhs-testshire",
            "--quarter",
            "2026-Q4",
            "--format",
            "html",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let paper = String::from_utf8(output.stdout).unwrap();
    assert!(paper.contains(&hash), "{paper}");
    assert!(
        paper.contains(&format!("--expect-entries {entries}")),
        "{paper}"
    );
}
