//! A synthetic quarter, counted by hand.

use time::Date;
use time::macros::date;

use super::calendar::Calendar;
use super::disclosure::{ByService, DisclosedKpis, Disclosure, Figure, Percent, Share, disclose};
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
        channel: crate::model::Channel::Portal,
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
    // Under the Standards (confidential): NHS A B D E H I J K, LA F L. Anonymous: C (NHS),
    // G (LA), counted apart.
    // Received in Q1: NHS A B D H I J = 6 (not E, K from December), LA F L = 2.
    // At stage 1 during Q1: NHS A B J, LA F. At stage 2: NHS D E I J K (K from December, I
    // still open at the end of March), LA L.
    // Placed at stage 2 in Q1: E and J from stage 1; D, I and L straight from receipt (K was
    // placed there in December).
    let nhs = SplitKpis {
        received: 6,
        received_by_channel: portal(6),
        not_whistleblowing: 0,
        withdrawn: 1, // H
        stage1: StageKpis {
            handled: 3,  // A B J
            extended: 1, // B
            closed: 3,
            upheld: 1,     // B
            not_upheld: 2, // A, J
            working_days_total: 4 + 8 + 3,
            on_time: 2,          // A, J
            within_extension: 1, // B
            ..StageKpis::default()
        },
        stage2: StageKpis {
            handled: 5,  // D E I J K
            extended: 1, // E
            closed: 3,
            upheld: 1,           // D
            partially_upheld: 1, // E
            not_upheld: 1,       // K
            working_days_total: 20 + 38 + 22,
            on_time: 1,          // D
            within_extension: 1, // E
            late: 1,             // K
        },
        stage2_escalated: 2, // E, J
        stage2_direct: 2,    // D, I
    };
    let local_authority = SplitKpis {
        received: 2,
        received_by_channel: portal(2),
        stage1: StageKpis {
            handled: 1,
            closed: 1,
            upheld: 1, // F
            working_days_total: 3,
            on_time: 1,
            ..StageKpis::default()
        },
        stage2: StageKpis {
            handled: 1,
            closed: 1,
            not_upheld: 1, // L
            working_days_total: 20,
            on_time: 1,
            ..StageKpis::default()
        },
        stage2_direct: 1,
        ..SplitKpis::default()
    };
    assert_eq!(kpis.standards.nhs, nhs);
    assert_eq!(kpis.standards.local_authority, local_authority);
    let overall = SplitKpis {
        received: 8,
        received_by_channel: portal(8),
        not_whistleblowing: 0,
        withdrawn: 1,
        stage1: StageKpis {
            handled: 4,
            extended: 1,
            closed: 4,
            upheld: 2,
            partially_upheld: 0,
            not_upheld: 2,
            working_days_total: 18,
            on_time: 3,
            within_extension: 1,
            late: 0,
        },
        stage2: StageKpis {
            handled: 6,
            extended: 1,
            closed: 4,
            upheld: 1,
            partially_upheld: 1,
            not_upheld: 2,
            working_days_total: 100,
            on_time: 2,
            within_extension: 1,
            late: 1,
        },
        stage2_escalated: 2,
        stage2_direct: 3,
    };
    assert_eq!(kpis.standards.overall, overall);
    assert_eq!(kpis.standards.overall.closed(), 8);
    assert_eq!(kpis.standards.overall.stage2_entered(), 5);
    // Anonymous: C at stage 1 (6 working days, late), G not whistleblowing.
    let anonymous = &kpis.anonymous.overall;
    assert_eq!(
        (
            anonymous.received,
            anonymous.not_whistleblowing,
            anonymous.stage1.closed,
            anonymous.stage1.late
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(kpis.anonymous.nhs.stage1.partially_upheld, 1);
    assert_eq!(kpis.anonymous.local_authority.received, 1);
    // Averages: 18 / 4 = 4.5; 100 / 4 = 25.0; NHS 15 / 3 = 5.0; 80 / 3 = 26.67 → 26.7.
    assert_eq!(
        kpis.standards.overall.stage1.average_working_days(),
        Some(4.5)
    );
    assert_eq!(
        kpis.standards.overall.stage2.average_working_days(),
        Some(25.0)
    );
    assert_eq!(kpis.standards.nhs.stage1.average_working_days(), Some(5.0));
    assert_eq!(kpis.standards.nhs.stage2.average_working_days(), Some(26.7));
    assert_eq!(StageKpis::default().average_working_days(), None);
}

/// Counts received, all through the portal.
fn portal(n: u32) -> [u32; super::kpi::CHANNELS] {
    let mut channels = [0; super::kpi::CHANNELS];
    channels[0] = n;
    channels
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

fn by_service(d: &DisclosedKpis) -> ByService {
    d.by_service
        .unwrap_or_else(|| unreachable!("a partnership has both services"))
}

#[test]
fn internal_figures_show_everything() {
    let d = disclose(&q1_2025(), Disclosure::Internal, true, &[]);
    let o = &d.overall;
    assert_eq!(o.received, Figure::Count(8));
    assert_eq!(o.closed.total, Figure::Count(8));
    assert_eq!(o.closed.stage1, share(4, 50.0));
    assert_eq!(o.closed.stage2, share(4, 50.0));
    // Stage 1 outcomes of 4: 2, 0, 2; stage 2 of 4: 1, 1, 2.
    assert_eq!(o.outcomes.stage1.upheld, share(2, 50.0));
    assert_eq!(o.outcomes.stage1.partially_upheld, share(0, 0.0));
    assert_eq!(o.outcomes.stage1.not_upheld, share(2, 50.0));
    assert_eq!(o.outcomes.stage2.not_upheld, share(2, 50.0));
    assert_eq!(o.average_working_days.stage1, Percent::Value(4.5));
    // Timescales: stage 1 3 / 1 / 0 of 4; stage 2 2 / 1 / 1 of 4.
    assert_eq!(o.within_timescale.stage1.on_time, share(3, 75.0));
    assert_eq!(o.within_timescale.stage1.within_extension, share(1, 25.0));
    assert_eq!(o.within_timescale.stage1.late, share(0, 0.0));
    assert_eq!(o.within_timescale.stage2.on_time, share(2, 50.0));
    assert_eq!(o.within_timescale.stage2.within_extension, share(1, 25.0));
    // Extensions as a share of the concerns handled at the stage: 1 of 4 and 1 of 6.
    assert_eq!(o.handled.stage1, Figure::Count(4));
    assert_eq!(o.handled.stage2, Figure::Count(6));
    assert_eq!(o.extended.stage1, share(1, 25.0));
    assert_eq!(o.extended.stage2, share(1, 16.7));
    // Placed at stage 2: 5, of which 2 from stage 1 and 3 straight.
    assert_eq!(o.stage2_entered.total, Figure::Count(5));
    assert_eq!(o.stage2_entered.escalated, share(2, 40.0));
    assert_eq!(o.stage2_entered.direct, share(3, 60.0));
    let services = by_service(&d);
    assert_eq!(services.nhs.closed.stage1, share(3, 50.0));
    assert_eq!(services.nhs.outcomes.stage2.upheld, share(1, 33.3));
    assert_eq!(
        services.nhs.average_working_days.stage2,
        Percent::Value(26.7)
    );
    assert_eq!(services.local_authority.closed.stage1, share(1, 50.0));
    assert_eq!(
        services.local_authority.outcomes.stage1.upheld,
        share(1, 100.0)
    );
    assert_eq!(services.local_authority.extended.stage2, share(0, 0.0));
    assert_eq!(d.anonymous.overall.received, Figure::Count(2));
    assert_eq!(d.unreadable, Figure::Count(1));
}

#[test]
fn published_figures_hide_small_numbers_and_their_complements() {
    let d = disclose(&q1_2025(), Disclosure::Published, true, &[]);
    let o = &d.overall;
    let services = by_service(&d);
    // Received 8 = NHS 6 + LA 2: LA is small, so NHS goes too (as "suppressed": it is not
    // fewer than 5).
    assert_eq!(o.received, Figure::Count(8));
    assert_eq!(services.nhs.received, Figure::Suppressed);
    assert_eq!(services.local_authority.received, Figure::FewerThan5);
    // Closed 8 = stage 1 (4) + stage 2 (4): both small.
    assert_eq!(o.closed.total, Figure::Count(8));
    assert_eq!(o.closed.stage1, HIDDEN);
    assert_eq!(o.closed.stage2, HIDDEN);
    for split in [o, &services.nhs, &services.local_authority] {
        assert_eq!(split.average_working_days.stage1, Percent::Suppressed);
        assert_eq!(split.average_working_days.stage2, Percent::Suppressed);
    }
    assert_eq!(o.outcomes.stage1.upheld, HIDDEN);
    assert_eq!(o.within_timescale.stage2.late, HIDDEN);
    assert_eq!(o.extended.stage1, HIDDEN);
    // Stage 2 was handled for 6 concerns: shown, but the 1 extended among them is not.
    assert_eq!(o.handled.stage2, Figure::Count(6));
    assert_eq!(o.extended.stage2, HIDDEN);
    assert_eq!(o.withdrawn, Figure::FewerThan5);
    // Zeros are shown, but a percentage of a hidden total is not.
    assert_eq!(o.not_whistleblowing, Figure::Count(0));
    assert_eq!(
        services.local_authority.outcomes.stage1.not_upheld,
        Share {
            count: Figure::Count(0),
            percent: Percent::Suppressed
        }
    );
    assert_eq!(d.anonymous.overall.received, Figure::FewerThan5);
    assert_eq!(d.unreadable, Figure::FewerThan5);
}

#[test]
fn published_json_shape() {
    let d = disclose(&q1_2025(), Disclosure::Published, true, &[]);
    let json = serde_json::to_value(d).unwrap_or_default();
    assert_eq!(
        json["period"],
        serde_json::json!({"label": "2025-Q1", "start": "2025-01-01", "end": "2025-03-31"})
    );
    assert_eq!(json["disclosure"], "published");
    assert_eq!(json["received"], 8);
    assert_eq!(json["closed"]["total"], 8);
    assert_eq!(
        json["closed"]["stage1"],
        serde_json::json!({"count": "fewer than 5", "percent": "suppressed"})
    );
    assert_eq!(
        json["outcomes"]["stage2"]["partially_upheld"]["count"],
        "fewer than 5"
    );
    assert_eq!(json["average_working_days"]["stage1"], "suppressed");
    assert_eq!(json["extended"]["stage2"]["count"], "fewer than 5");
    assert_eq!(json["handled"]["stage2"], 6);
    assert_eq!(json["by_service"]["nhs"]["not_whistleblowing"], 0);
    assert_eq!(
        json["by_service"]["local_authority"]["received"],
        "fewer than 5"
    );
    assert_eq!(json["anonymous"]["received"], "fewer than 5");
    for key in [
        "received",
        "not_whistleblowing",
        "withdrawn",
        "handled",
        "closed",
        "outcomes",
        "average_working_days",
        "within_timescale",
        "extended",
        "stage2_entered",
    ] {
        assert!(json.get(key).is_some(), "{key}");
        assert!(json["by_service"]["nhs"].get(key).is_some(), "nhs {key}");
        assert!(json["anonymous"].get(key).is_some(), "anonymous {key}");
    }
    let internal = serde_json::to_value(disclose(&q1_2025(), Disclosure::Internal, true, &[]))
        .unwrap_or_default();
    assert_eq!(
        internal["closed"]["stage1"],
        serde_json::json!({"count": 4, "percent": 50.0})
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
    assert_eq!(kpis.standards.overall.received, 2); // E, K
    assert_eq!(kpis.standards.overall.stage1.closed, 1); // E at stage 1
    // Stage 1, day 1 Tue 3 Dec (Mon 2 Dec was St Andrew's substitute), closed Mon 9 Dec:
    // 3, 4, 5, 6, 9 = 5 working days, on time.
    assert_eq!(kpis.standards.overall.stage1.working_days_total, 5);
    assert_eq!(kpis.standards.overall.stage1.on_time, 1);
    assert_eq!(kpis.standards.overall.stage2.closed, 0);
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
        (
            kpis.standards.overall.stage1.closed,
            kpis.standards.overall.stage2.closed
        ),
        (0, 2)
    );
    assert_eq!(kpis.standards.overall.received, 1); // N
    // The whole year counts each closure once, at its own stage.
    let year = Period::year(2025).unwrap_or_else(|_| unreachable!());
    let kpis = compute_kpis(
        &quarter_cases(),
        &Calendar::scottish(),
        &Settings::default(),
        year,
    );
    // C's stage 1 closure is anonymous: counted apart.
    assert_eq!(
        (
            kpis.standards.overall.stage1.closed,
            kpis.standards.overall.stage2.closed
        ),
        (4, 6)
    );
    assert_eq!(kpis.anonymous.overall.stage1.closed, 1);
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
    // The quarters a year or financial year is made of; none for a quarter or an odd span.
    let labels = |p: Result<Period, ProcedureError>| {
        p.map(|p| p.quarters().iter().map(Period::label).collect::<Vec<_>>())
    };
    assert_eq!(
        labels(Period::year(2025)),
        Ok(vec![
            "2025-Q1".into(),
            "2025-Q2".into(),
            "2025-Q3".into(),
            "2025-Q4".into()
        ])
    );
    assert_eq!(
        labels(Period::financial_year(2024)),
        Ok(vec![
            "2024-Q2".into(),
            "2024-Q3".into(),
            "2024-Q4".into(),
            "2025-Q1".into()
        ])
    );
    assert_eq!(labels(Period::quarter(2025, 2)), Ok(Vec::new()));
    assert_eq!(
        labels(Period::new(date!(2025 - 01 - 15), date!(2025 - 12 - 31))),
        Ok(Vec::new())
    );
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
