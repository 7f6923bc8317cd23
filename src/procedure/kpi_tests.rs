//! A synthetic quarter, counted by hand.

use time::Date;
use time::macros::date;

use super::calendar::Calendar;
use super::disclosure::{Disclosure, Figure, Percent, Share, disclose};
use super::error::ProcedureError;
use super::kpi::{CaseRecord, Kpis, Period, SplitKpis, StageKpis, compute_kpis};
use super::signposting::{Anonymity, Service};
use super::stages::{EscalationReason, Event, EventKind, Outcome, Settings};

use EventKind as K;

fn e(on: Date, kind: EventKind) -> Event {
    Event::new(on, kind)
}

fn close(outcome: Outcome) -> EventKind {
    K::Close { outcome }
}

fn to_stage2(reason: EscalationReason) -> EventKind {
    K::Stage2 { reason }
}

fn record(service: Service, anonymity: Anonymity, events: Vec<Event>) -> CaseRecord {
    CaseRecord {
        service,
        anonymity,
        events,
    }
}

/// Q1 2025 (1 January to 31 March). Holidays inside it: 1 and 2 January only.
fn quarter_cases() -> Vec<CaseRecord> {
    use Anonymity::{Anonymous, Confidential};
    use EscalationReason::{Complex, ReporterRequested};
    use Outcome::{NotUpheld, PartiallyUpheld, Upheld};
    use Service::{LocalAuthority as La, Nhs};
    vec![
        // A. Stage 1, day 1 Mon 6 Jan, due Fri 10 Jan; closed Thu 9 Jan: 4 working days, on time.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2025 - 01 - 06), K::Received),
                e(date!(2025 - 01 - 06), K::Stage1),
                e(date!(2025 - 01 - 09), close(NotUpheld)),
            ],
        ),
        // B. Stage 1, day 1 Fri 10 Jan, due Thu 16 Jan, cap Thu 23 Jan; extended on Thu 16 to
        //    Wed 22; closed Tue 21: 10, 13–17, 20, 21 = 8 working days, within the extension.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2025 - 01 - 10), K::Received),
                e(date!(2025 - 01 - 10), K::Stage1),
                e(
                    date!(2025 - 01 - 16),
                    K::Extend {
                        until: date!(2025 - 01 - 22),
                    },
                ),
                e(date!(2025 - 01 - 21), close(Upheld)),
            ],
        ),
        // C. Stage 1, day 1 Mon 13 Jan, due Fri 17; closed Mon 20 Jan: 6 working days, late.
        record(
            Nhs,
            Anonymous,
            vec![
                e(date!(2025 - 01 - 13), K::Received),
                e(date!(2025 - 01 - 13), K::Stage1),
                e(date!(2025 - 01 - 20), close(PartiallyUpheld)),
            ],
        ),
        // D. Straight to stage 2, day 1 Mon 3 Feb, day 20 Fri 28 Feb; closed that day:
        //    20 working days, on time.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2025 - 02 - 03), K::Received),
                e(date!(2025 - 02 - 04), to_stage2(Complex)),
                e(date!(2025 - 02 - 05), K::Acknowledge),
                e(date!(2025 - 02 - 28), close(Upheld)),
            ],
        ),
        // E. Received in Q4 2024 and closed at stage 1 then (not in this quarter); stage 2 on
        //    Mon 6 Jan 2025: day 1 Mon 6 Jan, day 20 Fri 31 Jan; extended on Thu 30 Jan to Fri 28
        //    Feb; closed Wed 26 Feb: 20 (January) + 18 (3–26 Feb) = 38 working days, within the
        //    extension. Counts as a stage 2 closure only.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2024 - 12 - 02), K::Received),
                e(date!(2024 - 12 - 03), K::Stage1),
                e(date!(2024 - 12 - 09), close(NotUpheld)),
                e(date!(2025 - 01 - 06), to_stage2(ReporterRequested)),
                e(
                    date!(2025 - 01 - 30),
                    K::Extend {
                        until: date!(2025 - 02 - 28),
                    },
                ),
                e(date!(2025 - 02 - 20), K::Update),
                e(date!(2025 - 02 - 26), close(PartiallyUpheld)),
            ],
        ),
        // F. Local authority, stage 1, day 1 Wed 15 Jan; closed Fri 17: 3 working days, on time.
        record(
            La,
            Confidential,
            vec![
                e(date!(2025 - 01 - 15), K::Received),
                e(date!(2025 - 01 - 15), K::Stage1),
                e(date!(2025 - 01 - 17), close(Upheld)),
            ],
        ),
        // G. Local authority, anonymous, not whistleblowing.
        record(
            La,
            Anonymous,
            vec![
                e(date!(2025 - 03 - 04), K::Received),
                e(date!(2025 - 03 - 05), K::NotWhistleblowing),
            ],
        ),
        // H. Withdrawn.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2025 - 03 - 10), K::Received),
                e(date!(2025 - 03 - 12), K::Withdraw),
            ],
        ),
        // I. Still open at stage 2 at the end of the quarter; its April closure is not counted.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2025 - 03 - 24), K::Received),
                e(date!(2025 - 03 - 25), to_stage2(Complex)),
                e(date!(2025 - 04 - 15), close(Upheld)),
            ],
        ),
        // J. Stage 1, day 1 Fri 28 Feb, due Thu 6 Mar; closed Tue 4 Mar: 28 Feb, 3, 4 = 3
        //    working days, on time. Then stage 2, closed in April: not counted.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2025 - 02 - 28), K::Received),
                e(date!(2025 - 02 - 28), K::Stage1),
                e(date!(2025 - 03 - 04), close(NotUpheld)),
                e(date!(2025 - 03 - 10), to_stage2(ReporterRequested)),
                e(date!(2025 - 04 - 04), close(NotUpheld)),
            ],
        ),
        // K. Received Mon 16 Dec 2024, straight to stage 2: day 20 is Thu 16 Jan 2025
        //    (16–20, 23, 24, 27, 30, 31 Dec = 10; 3 Jan = 11; 6–10 = 16; 13–16 = 20). Closed Mon
        //    20 Jan: 22 working days, late.
        record(
            Nhs,
            Confidential,
            vec![
                e(date!(2024 - 12 - 16), K::Received),
                e(date!(2024 - 12 - 17), to_stage2(Complex)),
                e(date!(2025 - 01 - 20), close(NotUpheld)),
            ],
        ),
        // L. Local authority, straight to stage 2, day 1 Mon 17 Feb, day 20 Fri 14 Mar; closed
        //    then: 20 working days, on time.
        record(
            La,
            Confidential,
            vec![
                e(date!(2025 - 02 - 17), K::Received),
                e(date!(2025 - 02 - 17), to_stage2(Complex)),
                e(date!(2025 - 03 - 14), close(NotUpheld)),
            ],
        ),
        // M. A corrupt history: counted as unreadable, in no other figure.
        record(Nhs, Confidential, vec![e(date!(2025 - 01 - 06), K::Stage1)]),
        // N. Received after the quarter: invisible.
        record(
            Nhs,
            Confidential,
            vec![e(date!(2025 - 04 - 02), K::Received)],
        ),
    ]
}

fn q1_2025() -> Kpis {
    let period = Period::parse_quarter("2025-Q1");
    assert_eq!(
        period.as_ref().map(|p| (p.start(), p.end())),
        Ok((date!(2025 - 01 - 01), date!(2025 - 03 - 31)))
    );
    let period = period.unwrap_or_else(|_| unreachable!());
    compute_kpis(
        &quarter_cases(),
        &Calendar::scottish(),
        &Settings::default(),
        period,
    )
}

#[test]
fn raw_figures_for_the_quarter() {
    let kpis = q1_2025();
    assert_eq!(kpis.unreadable, 1);
    // Received in Q1: A B C D F G H I J L (not E, K from December, nor N from April).
    // NHS: A B C D H I J = 7; LA: F G L = 3. Anonymous: C (NHS), G (LA).
    // Closed at stage 1 in Q1: A B C J (NHS) and F (LA). At stage 2: D E K (NHS) and L (LA).
    let nhs = SplitKpis {
        received: 7,
        anonymous: 1,
        confidential: 6,
        not_whistleblowing: 0,
        withdrawn: 1,
        stage1: StageKpis {
            closed: 4,
            upheld: 1,           // B
            partially_upheld: 1, // C
            not_upheld: 2,       // A, J
            working_days_total: 4 + 8 + 6 + 3,
            on_time: 2,          // A, J
            within_extension: 1, // B
            late: 1,             // C
            extended: 1,         // B
        },
        stage2: StageKpis {
            closed: 3,
            upheld: 1,           // D
            partially_upheld: 1, // E
            not_upheld: 1,       // K
            working_days_total: 20 + 38 + 22,
            on_time: 1,          // D
            within_extension: 1, // E
            late: 1,             // K
            extended: 1,         // E
        },
    };
    let local_authority = SplitKpis {
        received: 3,
        anonymous: 1,
        confidential: 2,
        not_whistleblowing: 1, // G
        withdrawn: 0,
        stage1: StageKpis {
            closed: 1,
            upheld: 1, // F
            working_days_total: 3,
            on_time: 1,
            ..StageKpis::default()
        },
        stage2: StageKpis {
            closed: 1,
            not_upheld: 1, // L
            working_days_total: 20,
            on_time: 1,
            ..StageKpis::default()
        },
    };
    assert_eq!(kpis.nhs, nhs);
    assert_eq!(kpis.local_authority, local_authority);
    let overall = SplitKpis {
        received: 10,
        anonymous: 2,
        confidential: 8,
        not_whistleblowing: 1,
        withdrawn: 1,
        stage1: StageKpis {
            closed: 5,
            upheld: 2,
            partially_upheld: 1,
            not_upheld: 2,
            working_days_total: 24,
            on_time: 3,
            within_extension: 1,
            late: 1,
            extended: 1,
        },
        stage2: StageKpis {
            closed: 4,
            upheld: 1,
            partially_upheld: 1,
            not_upheld: 2,
            working_days_total: 100,
            on_time: 2,
            within_extension: 1,
            late: 1,
            extended: 1,
        },
    };
    assert_eq!(kpis.overall, overall);
    assert_eq!(kpis.overall.closed(), 9);
    // Averages: 24 / 5 = 4.8; 100 / 4 = 25.0; NHS 21 / 4 = 5.25 → 5.3 (half up); 80 / 3 = 26.67
    // → 26.7.
    assert_eq!(kpis.overall.stage1.average_working_days(), Some(4.8));
    assert_eq!(kpis.overall.stage2.average_working_days(), Some(25.0));
    assert_eq!(kpis.nhs.stage1.average_working_days(), Some(5.3));
    assert_eq!(kpis.nhs.stage2.average_working_days(), Some(26.7));
    assert_eq!(StageKpis::default().average_working_days(), None);
}

fn share(count: u32, percent: f64) -> Share {
    Share {
        count: Figure::Count(count),
        percent: Percent::Value(percent),
    }
}

const HIDDEN: Share = Share {
    count: Figure::FewerThan5,
    percent: Percent::Suppressed,
};

#[test]
fn internal_figures_show_everything() {
    let d = disclose(&q1_2025(), Disclosure::Internal);
    let o = &d.overall;
    assert_eq!(o.received, Figure::Count(10));
    assert_eq!(o.closed.total, Figure::Count(9));
    // 5 / 9 = 55.6%, 4 / 9 = 44.4%.
    assert_eq!(o.closed.stage1, share(5, 55.6));
    assert_eq!(o.closed.stage2, share(4, 44.4));
    // Stage 1 outcomes of 5: 2 (40%), 1 (20%), 2 (40%); stage 2 of 4: 1, 1, 2 = 25, 25, 50%.
    assert_eq!(o.outcomes.stage1.upheld, share(2, 40.0));
    assert_eq!(o.outcomes.stage1.partially_upheld, share(1, 20.0));
    assert_eq!(o.outcomes.stage1.not_upheld, share(2, 40.0));
    assert_eq!(o.outcomes.stage2.not_upheld, share(2, 50.0));
    assert_eq!(o.average_working_days.stage1, Percent::Value(4.8));
    // Timescales: stage 1 3 / 1 / 1 of 5; stage 2 2 / 1 / 1 of 4.
    assert_eq!(o.within_timescale.stage1.on_time, share(3, 60.0));
    assert_eq!(o.within_timescale.stage1.within_extension, share(1, 20.0));
    assert_eq!(o.within_timescale.stage1.late, share(1, 20.0));
    assert_eq!(o.within_timescale.stage2.on_time, share(2, 50.0));
    assert_eq!(o.within_timescale.stage2.within_extension, share(1, 25.0));
    assert_eq!(o.extended.stage1, share(1, 20.0));
    assert_eq!(o.extended.stage2, share(1, 25.0));
    // NHS: 4 / 7 = 57.1%, 3 / 7 = 42.9%; stage 2 outcomes 1 / 3 = 33.3% each.
    assert_eq!(d.nhs.closed.stage1, share(4, 57.1));
    assert_eq!(d.nhs.closed.stage2, share(3, 42.9));
    assert_eq!(d.nhs.outcomes.stage2.upheld, share(1, 33.3));
    assert_eq!(d.nhs.average_working_days.stage2, Percent::Value(26.7));
    // Local authority: one closure at each stage.
    assert_eq!(d.local_authority.closed.stage1, share(1, 50.0));
    assert_eq!(d.local_authority.outcomes.stage1.upheld, share(1, 100.0));
    assert_eq!(d.local_authority.outcomes.stage1.not_upheld, share(0, 0.0));
    assert_eq!(d.local_authority.extended.stage2, share(0, 0.0));
    assert_eq!(d.unreadable, Figure::Count(1));
}

#[test]
fn published_figures_hide_small_numbers_and_their_complements() {
    let d = disclose(&q1_2025(), Disclosure::Published);
    let o = &d.overall;
    // Received: 10 = anonymous 2 + confidential 8. 2 is small; 8 would give it away, so it is
    // suppressed too (as "suppressed": it is not fewer than 5).
    assert_eq!(o.received, Figure::Count(10));
    assert_eq!(o.anonymous, Figure::FewerThan5);
    assert_eq!(o.confidential, Figure::Suppressed);
    // Overall 10 = NHS 7 + LA 3: LA is small, so NHS goes too.
    assert_eq!(d.nhs.received, Figure::Suppressed);
    assert_eq!(d.local_authority.received, Figure::FewerThan5);
    // NHS 7 = anonymous 1 + confidential 6: hidden as a pair.
    assert_eq!(d.nhs.confidential, Figure::Suppressed);
    // Closed 9 = stage 1 (5) + stage 2 (4): stage 2 is small, so stage 1 goes too, with both
    // percentages.
    assert_eq!(o.closed.total, Figure::Count(9));
    assert_eq!(
        o.closed.stage1,
        Share {
            count: Figure::Suppressed,
            percent: Percent::Suppressed
        }
    );
    assert_eq!(o.closed.stage2, HIDDEN);
    // And 9 = NHS 7 + LA 2.
    assert_eq!(d.nhs.closed.total, Figure::Suppressed);
    assert_eq!(d.local_authority.closed.total, Figure::FewerThan5);
    // Every count here is 1 to 4, so every outcome, timescale and extension figure is hidden,
    // and every average, which is computed from a hidden count of closures.
    for split in [&d.overall, &d.nhs, &d.local_authority] {
        assert_eq!(split.average_working_days.stage1, Percent::Suppressed);
        assert_eq!(split.average_working_days.stage2, Percent::Suppressed);
    }
    assert_eq!(o.outcomes.stage1.upheld, HIDDEN);
    assert_eq!(o.within_timescale.stage2.late, HIDDEN);
    assert_eq!(o.extended.stage1, HIDDEN);
    assert_eq!(o.not_whistleblowing, Figure::FewerThan5);
    assert_eq!(o.withdrawn, Figure::FewerThan5);
    // Zeros are shown, but a percentage of a hidden total is not.
    assert_eq!(d.nhs.not_whistleblowing, Figure::Count(0));
    assert_eq!(d.local_authority.withdrawn, Figure::Count(0));
    assert_eq!(
        d.local_authority.outcomes.stage1.not_upheld,
        Share {
            count: Figure::Count(0),
            percent: Percent::Suppressed
        }
    );
    assert_eq!(d.unreadable, Figure::FewerThan5);
}

#[test]
fn published_json_shape() {
    let d = disclose(&q1_2025(), Disclosure::Published);
    let json = serde_json::to_value(d).unwrap_or_default();
    assert_eq!(
        json["period"],
        serde_json::json!({"label": "2025-Q1", "start": "2025-01-01", "end": "2025-03-31"})
    );
    assert_eq!(json["disclosure"], "published");
    assert_eq!(json["received"], 10);
    assert_eq!(json["anonymous"], "fewer than 5");
    assert_eq!(json["closed"]["total"], 9);
    assert_eq!(
        json["closed"]["stage1"],
        serde_json::json!({"count": "suppressed", "percent": "suppressed"})
    );
    assert_eq!(json["confidential"], "suppressed");
    assert_eq!(
        json["outcomes"]["stage2"]["partially_upheld"]["count"],
        "fewer than 5"
    );
    assert_eq!(json["average_working_days"]["stage1"], "suppressed");
    assert_eq!(
        json["within_timescale"]["stage1"]["within_extension"]["percent"],
        "suppressed"
    );
    assert_eq!(json["extended"]["stage2"]["count"], "fewer than 5");
    assert_eq!(json["nhs"]["not_whistleblowing"], 0);
    assert_eq!(json["local_authority"]["received"], "fewer than 5");
    for key in [
        "received",
        "anonymous",
        "confidential",
        "not_whistleblowing",
        "withdrawn",
        "closed",
        "outcomes",
        "average_working_days",
        "within_timescale",
        "extended",
    ] {
        assert!(json.get(key).is_some(), "{key}");
        assert!(json["nhs"].get(key).is_some(), "nhs {key}");
    }
    let internal =
        serde_json::to_value(disclose(&q1_2025(), Disclosure::Internal)).unwrap_or_default();
    assert_eq!(
        internal["closed"]["stage1"],
        serde_json::json!({"count": 5, "percent": 55.6})
    );
    assert_eq!(internal["average_working_days"]["stage2"], 25.0);
}

#[test]
fn closures_count_by_closing_date_across_quarters() {
    // E's stage 1 closure (9 Dec 2024) belongs to Q4 2024 with K and E's receipts.
    let q4 = Period::parse_quarter("2024-Q4").unwrap_or_else(|_| unreachable!());
    let kpis = compute_kpis(
        &quarter_cases(),
        &Calendar::scottish(),
        &Settings::default(),
        q4,
    );
    assert_eq!(kpis.overall.received, 2); // E, K
    assert_eq!(kpis.overall.stage1.closed, 1); // E at stage 1
    // Stage 1, day 1 Tue 3 Dec (Mon 2 Dec was St Andrew's substitute), closed Mon 9 Dec:
    // 3, 4, 5, 6, 9 = 5 working days, on time.
    assert_eq!(kpis.overall.stage1.working_days_total, 5);
    assert_eq!(kpis.overall.stage1.on_time, 1);
    assert_eq!(kpis.overall.stage2.closed, 0);
    assert_eq!(kpis.unreadable, 0);
    // In Q2 2025: I and J close at stage 2; J's stage 1 closure stays in Q1.
    let q2 = Period::parse_quarter("2025-q2").unwrap_or_else(|_| unreachable!());
    let kpis = compute_kpis(
        &quarter_cases(),
        &Calendar::scottish(),
        &Settings::default(),
        q2,
    );
    assert_eq!(
        (kpis.overall.stage1.closed, kpis.overall.stage2.closed),
        (0, 2)
    );
    assert_eq!(kpis.overall.received, 1); // N
    // The whole year counts each closure once, at its own stage.
    let year = Period::year(2025).unwrap_or_else(|_| unreachable!());
    let kpis = compute_kpis(
        &quarter_cases(),
        &Calendar::scottish(),
        &Settings::default(),
        year,
    );
    assert_eq!(
        (kpis.overall.stage1.closed, kpis.overall.stage2.closed),
        (5, 6)
    );
}

#[test]
fn periods() {
    assert_eq!(
        Period::parse_quarter("2024-Q4").map(|p| p.label()),
        Ok("2024-Q4".to_owned())
    );
    assert_eq!(
        Period::parse_quarter("2024-Q2").map(|p| (p.start(), p.end())),
        Ok((date!(2024 - 04 - 01), date!(2024 - 06 - 30)))
    );
    assert_eq!(
        "2024-Q1".parse::<Period>().map(|p| p.end()),
        Ok(date!(2024 - 03 - 31))
    );
    for bad in [
        "2024-Q5", "2024-Q0", "2024Q1", "24-Q1", "2024-Q", "2024-Q12", "2024-H1", "",
    ] {
        assert_eq!(
            Period::parse_quarter(bad),
            Err(ProcedureError::InvalidQuarter {
                input: bad.to_owned()
            }),
            "{bad}"
        );
    }
    assert_eq!(Period::year(2025).map(|p| p.label()), Ok("2025".to_owned()));
    let fy = Period::financial_year(2024);
    assert_eq!(
        fy.map(|p| (p.start(), p.end(), p.label())),
        Ok((
            date!(2024 - 04 - 01),
            date!(2025 - 03 - 31),
            "2024/25".to_owned()
        ))
    );
    assert_eq!(
        Period::new(date!(2024 - 01 - 15), date!(2024 - 02 - 14)).map(|p| p.to_string()),
        Ok("2024-01-15..2024-02-14".to_owned())
    );
    assert_eq!(
        Period::new(date!(2024 - 02 - 14), date!(2024 - 01 - 15)),
        Err(ProcedureError::InvalidPeriod {
            start: date!(2024 - 02 - 14),
            end: date!(2024 - 01 - 15)
        })
    );
}
