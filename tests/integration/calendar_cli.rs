//! `speakup calendar` and `speakup org holidays`, run as processes: the same code as the
//! procedure service.

use std::process::{Command, Output};

use crate::support::TestDatabase;

fn speakup(database: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speakup"))
        .args(args)
        .arg("--database-url")
        .arg(database.cli_url())
        .current_dir(database.dir.path())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn holidays_and_due_dates_match_a_hand_checked_table() {
    let database = TestDatabase::create();
    stdout(&speakup(
        &database,
        &[
            "org",
            "add",
            "--slug",
            "nhs-lothian",
            "--name",
            "NHS Lothian",
        ],
    ));
    let holidays = stdout(&speakup(
        &database,
        &[
            "calendar",
            "holidays",
            "--org",
            "nhs-lothian",
            "--year",
            "2027",
        ],
    ));
    assert_eq!(
        holidays.lines().collect::<Vec<_>>(),
        [
            "2027-01-01",
            "2027-01-04", // 2 Jan is a Saturday: substitute Monday 4 Jan
            "2027-03-26", // Good Friday (Easter Sunday 28 March 2027)
            "2027-05-03",
            "2027-05-31",
            "2027-08-02",
            "2027-11-30", // St Andrew's Day, a Tuesday
            "2027-12-27",
            "2027-12-28", // 25 Dec Saturday, 26 Dec Sunday
        ]
    );
    // received, working days, due — each counted by hand on a calendar.
    let table = [
        // Thu 24 Dec 2026: 24 (1), [25 Fri, 28 Mon holidays], 29 (2), 30 (3), 31 (4),
        // [1 Jan Fri holiday, 2 Jan Saturday → 4 Jan Mon substitute], 5 Jan (5).
        ("2026-12-24", "5", "2027-01-05"),
        // Thu 26 Nov 2026: 26 (1), 27 (2), [30 Nov Mon St Andrew's], 1 Dec (3), 2 (4), 3 (5).
        ("2026-11-26", "5", "2026-12-03"),
        // Sat 28 Nov 2026: day 1 is the next working day, Tue 1 Dec; 20 working days → Mon 28 Dec
        // is a holiday, so: Dec 1-4 (4), 7-11 (9), 14-18 (14), 21-24 (18), 29 (19), 30 (20).
        ("2026-11-28", "20", "2026-12-30"),
        // Wed 24 Mar 2027: 24 (1), 25 (2), [26 Good Friday], 29 (3) — Easter Monday is not a
        // Scottish bank holiday.
        ("2027-03-24", "3", "2027-03-29"),
        // Mon 28 Nov 2022: 28 (1), 29 (2), 30 Nov Wed is St Andrew's, 1 Dec (3), 2 (4), 5 (5).
        ("2022-11-28", "5", "2022-12-05"),
        // Fri 30 Dec 2022: 30 (1), [2 Jan Mon, 3 Jan Tue substitutes], 4 (2), 5 (3), 6 (4), 9 (5).
        ("2022-12-30", "5", "2023-01-09"),
        // Thu 1 Jun 2022: 1 (1), [2 Thu, 3 Fri Jubilee], 6 (2), 7 (3).
        ("2022-06-01", "3", "2022-06-07"),
    ];
    for (received, days, expected) in table {
        let due = stdout(&speakup(
            &database,
            &[
                "calendar",
                "due",
                "--org",
                "nhs-lothian",
                "--received",
                received,
                "--working-days",
                days,
            ],
        ));
        assert_eq!(due, expected, "received {received}, {days} working days");
    }
}

#[test]
fn local_holidays_move_deadlines_and_are_listed() {
    let database = TestDatabase::create();
    stdout(&speakup(
        &database,
        &["org", "add", "--slug", "nhs-orkney", "--name", "NHS Orkney"],
    ));
    let due = |database: &TestDatabase| {
        stdout(&speakup(
            database,
            &[
                "calendar",
                "due",
                "--org",
                "nhs-orkney",
                "--received",
                "2099-11-27",
                "--working-days",
                "5",
            ],
        ))
    };
    assert_eq!(due(&database), "2099-12-04");
    stdout(&speakup(
        &database,
        &[
            "org",
            "holidays",
            "add",
            "--org",
            "nhs-orkney",
            "--date",
            "2099-12-01",
            "--label",
            "Local holiday",
        ],
    ));
    assert_eq!(due(&database), "2099-12-07");
    // Working St Andrew's Day instead pulls it back.
    stdout(&speakup(
        &database,
        &[
            "org",
            "holidays",
            "work",
            "--org",
            "nhs-orkney",
            "--date",
            "2099-11-30",
        ],
    ));
    assert_eq!(due(&database), "2099-12-04");
    let listed = stdout(&speakup(
        &database,
        &["org", "holidays", "list", "--org", "nhs-orkney"],
    ));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("\"change\":\"work\""));
    let holidays = stdout(&speakup(
        &database,
        &[
            "calendar",
            "holidays",
            "--org",
            "nhs-orkney",
            "--year",
            "2099",
        ],
    ));
    assert!(holidays.contains("2099-12-01"));
    assert!(!holidays.contains("2099-11-30"));
    stdout(&speakup(
        &database,
        &[
            "org",
            "holidays",
            "clear",
            "--org",
            "nhs-orkney",
            "--date",
            "2099-12-01",
        ],
    ));
    stdout(&speakup(
        &database,
        &[
            "org",
            "holidays",
            "clear",
            "--org",
            "nhs-orkney",
            "--date",
            "2099-11-30",
        ],
    ));
    assert_eq!(due(&database), "2099-12-04");
    let bad = speakup(
        &database,
        &[
            "calendar",
            "due",
            "--org",
            "nhs-orkney",
            "--received",
            "30/11/2026",
            "--working-days",
            "5",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let unknown = speakup(
        &database,
        &[
            "calendar",
            "holidays",
            "--org",
            "nhs-nowhere",
            "--year",
            "2026",
        ],
    );
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

#[test]
fn days_that_have_come_cannot_be_changed() {
    let database = TestDatabase::create();
    stdout(&speakup(
        &database,
        &["org", "add", "--slug", "nhs-orkney", "--name", "NHS Orkney"],
    ));
    for args in [
        &[
            "org",
            "holidays",
            "add",
            "--org",
            "nhs-orkney",
            "--date",
            "2020-12-01",
            "--label",
            "Retrospective closure",
        ][..],
        &[
            "org",
            "holidays",
            "work",
            "--org",
            "nhs-orkney",
            "--date",
            "2020-11-30",
        ][..],
    ] {
        let refused = speakup(&database, args);
        assert!(!refused.status.success());
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(
            message.contains("only later days can be changed"),
            "{message}"
        );
    }
    let holidays = stdout(&speakup(
        &database,
        &[
            "calendar",
            "holidays",
            "--org",
            "nhs-orkney",
            "--year",
            "2020",
        ],
    ));
    assert!(holidays.contains("2020-11-30"), "{holidays}");
    assert!(!holidays.contains("2020-12-01"), "{holidays}");
}

#[test]
fn a_changed_day_one_rule_never_re_dates_a_past_concern() {
    let database = TestDatabase::create();
    stdout(&speakup(
        &database,
        &["org", "add", "--slug", "nhs-orkney", "--name", "NHS Orkney"],
    ));
    let due = |received: &str| {
        stdout(&speakup(
            &database,
            &[
                "calendar",
                "due",
                "--org",
                "nhs-orkney",
                "--received",
                received,
                "--working-days",
                "5",
            ],
        ))
    };
    // Mon 2 Nov 2026 has passed; Mon 2 Nov 2099 has not. Day 1 is the day of receipt.
    assert_eq!(due("2026-11-02"), "2026-11-06");
    assert_eq!(due("2099-11-02"), "2099-11-06");
    let settings = |next: &str| {
        stdout(&speakup(
            &database,
            &[
                "org",
                "settings",
                "--org",
                "nhs-orkney",
                "--day-one-next-working-day",
                next,
            ],
        ))
    };
    settings("true");
    // The concern of 2 November 2026 keeps the due date it was given; later ones follow the
    // new rule (day 1 the next working day).
    assert_eq!(due("2026-11-02"), "2026-11-06");
    assert_eq!(due("2099-11-02"), "2099-11-09");
    // Changing it back the same day leaves no change at all.
    settings("false");
    assert_eq!(due("2099-11-02"), "2099-11-06");
    settings("true");
    assert_eq!(due("2026-11-02"), "2026-11-06");
}
