//! Small-number suppression, so that published figures cannot point at a reporter.
//!
//! Published: any count from 1 to 4 becomes "fewer than 5", and so does any percentage or average
//! computed from such a count. Then, wherever figures are tied by a sum (parts adding up to a
//! total), a single hidden figure could be worked out from the others, so one more is hidden
//! ("suppressed": the smallest non-zero part, to lose as little as possible, or else the total),
//! repeated until no sum has exactly one hidden figure.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Serialize, Serializer};

use super::deadlines::ProcedureStage;
use super::kpi::{Kpis, Period, SplitKpis, StageKpis, ratio_1dp};
use super::stages::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// For the public and anyone outside the organisation's governance: suppressed.
    Published,
    /// For the board and the whistleblowing champion: every number as it is.
    Internal,
}

/// A count as disclosed. In JSON: a number, `"fewer than 5"`, or `"suppressed"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    Count(u32),
    /// A count from 1 to 4.
    FewerThan5,
    /// A count (never 0, possibly large) hidden only so that a small one elsewhere cannot be
    /// worked out by subtraction. Shown as "suppressed", never as "fewer than 5", which would
    /// be untrue.
    Suppressed,
}

/// A percentage or an average as disclosed. In JSON: a number, `"suppressed"`, or `null` when
/// there is nothing to divide by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Percent {
    Value(f64),
    Suppressed,
    NotApplicable,
}

/// Averages are disclosed under the same rules as percentages.
pub type Average = Percent;

impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(n) => serializer.serialize_u32(*n),
            Self::FewerThan5 => serializer.serialize_str("fewer than 5"),
            Self::Suppressed => serializer.serialize_str("suppressed"),
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => serializer.serialize_f64(*v),
            Self::Suppressed => serializer.serialize_str("suppressed"),
            Self::NotApplicable => serializer.serialize_none(),
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::FewerThan5 => f.write_str("fewer than 5"),
            Self::Suppressed => f.write_str("suppressed"),
        }
    }
}

/// Without a unit: the caller knows whether it is a per cent or working days.
impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(v) => write!(f, "{v:.1}"),
            Self::Suppressed => f.write_str("suppressed"),
            Self::NotApplicable => f.write_str("n/a"),
        }
    }
}

/// A count and its share of the relevant total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    pub count: Figure,
    pub percent: Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerStage<T> {
    pub stage1: T,
    pub stage2: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClosedFigures {
    pub total: Figure,
    /// Share of all closures.
    pub stage1: Share,
    pub stage2: Share,
}

/// Shares of the closures at that stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OutcomeFigures {
    pub upheld: Share,
    pub partially_upheld: Share,
    pub not_upheld: Share,
}

/// Shares of the closures at that stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimescaleFigures {
    /// By day 5 (stage 1) or day 20 (stage 2).
    pub on_time: Share,
    /// After that, but within an authorised extension.
    pub within_extension: Share,
    pub late: Share,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DisclosedSplit {
    pub received: Figure,
    pub anonymous: Figure,
    pub confidential: Figure,
    pub not_whistleblowing: Figure,
    pub withdrawn: Figure,
    pub closed: ClosedFigures,
    pub outcomes: PerStage<OutcomeFigures>,
    pub average_working_days: PerStage<Average>,
    pub within_timescale: PerStage<TimescaleFigures>,
    /// Share of the closures at that stage that had an extension.
    pub extended: PerStage<Share>,
}

/// The figures as they may be shown. In JSON the overall figures are at the top level (so
/// `received`, `closed`, … are where the API contract promises them), with the NHS and
/// local-authority splits beside them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DisclosedKpis {
    pub period: PeriodLabel,
    pub disclosure: Disclosure,
    #[serde(flatten)]
    pub overall: DisclosedSplit,
    pub nhs: DisclosedSplit,
    pub local_authority: DisclosedSplit,
    pub unreadable: Figure,
}

/// The period as `{"label": "2024-Q1", "start": "…", "end": "…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodLabel(pub Period);

impl Serialize for PeriodLabel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Period", 3)?;
        s.serialize_field("label", &self.0.label())?;
        s.serialize_field("start", &self.0.start().to_string())?;
        s.serialize_field("end", &self.0.end().to_string())?;
        s.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Split {
    Overall,
    Nhs,
    LocalAuthority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum StageMetric {
    Closed,
    Outcome(Outcome),
    OnTime,
    WithinExtension,
    Late,
    Extended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Metric {
    Received,
    Anonymous,
    Confidential,
    NotWhistleblowing,
    Withdrawn,
    ClosedTotal,
    Stage(ProcedureStage, StageMetric),
}

type Cell = (Split, Metric);

const SPLITS: [Split; 3] = [Split::Overall, Split::Nhs, Split::LocalAuthority];
const STAGES: [ProcedureStage; 2] = [ProcedureStage::Stage1, ProcedureStage::Stage2];

fn every_metric() -> Vec<Metric> {
    let mut all = vec![
        Metric::Received,
        Metric::Anonymous,
        Metric::Confidential,
        Metric::NotWhistleblowing,
        Metric::Withdrawn,
        Metric::ClosedTotal,
    ];
    for stage in STAGES {
        all.push(Metric::Stage(stage, StageMetric::Closed));
        for outcome in Outcome::ALL {
            all.push(Metric::Stage(stage, StageMetric::Outcome(outcome)));
        }
        for m in [
            StageMetric::OnTime,
            StageMetric::WithinExtension,
            StageMetric::Late,
            StageMetric::Extended,
        ] {
            all.push(Metric::Stage(stage, m));
        }
    }
    all
}

/// Every sum between figures: a total and the parts that add up to it.
fn partitions() -> Vec<(Cell, Vec<Cell>)> {
    let mut list = Vec::new();
    for split in SPLITS {
        list.push((
            (split, Metric::Received),
            vec![(split, Metric::Anonymous), (split, Metric::Confidential)],
        ));
        list.push((
            (split, Metric::ClosedTotal),
            STAGES
                .iter()
                .map(|s| (split, Metric::Stage(*s, StageMetric::Closed)))
                .collect(),
        ));
        for stage in STAGES {
            let closed = (split, Metric::Stage(stage, StageMetric::Closed));
            list.push((
                closed,
                Outcome::ALL
                    .iter()
                    .map(|o| (split, Metric::Stage(stage, StageMetric::Outcome(*o))))
                    .collect(),
            ));
            list.push((
                closed,
                [
                    StageMetric::OnTime,
                    StageMetric::WithinExtension,
                    StageMetric::Late,
                ]
                .iter()
                .map(|m| (split, Metric::Stage(stage, *m)))
                .collect(),
            ));
        }
    }
    for metric in every_metric() {
        list.push((
            (Split::Overall, metric),
            vec![(Split::Nhs, metric), (Split::LocalAuthority, metric)],
        ));
    }
    list
}

fn split_of(kpis: &Kpis, split: Split) -> &SplitKpis {
    match split {
        Split::Overall => &kpis.overall,
        Split::Nhs => &kpis.nhs,
        Split::LocalAuthority => &kpis.local_authority,
    }
}

fn stage_value(stage: &StageKpis, metric: StageMetric) -> u32 {
    match metric {
        StageMetric::Closed => stage.closed,
        StageMetric::Outcome(o) => stage.outcome(o),
        StageMetric::OnTime => stage.on_time,
        StageMetric::WithinExtension => stage.within_extension,
        StageMetric::Late => stage.late,
        StageMetric::Extended => stage.extended,
    }
}

fn value(kpis: &Kpis, (split, metric): Cell) -> u32 {
    let s = split_of(kpis, split);
    match metric {
        Metric::Received => s.received,
        Metric::Anonymous => s.anonymous,
        Metric::Confidential => s.confidential,
        Metric::NotWhistleblowing => s.not_whistleblowing,
        Metric::Withdrawn => s.withdrawn,
        Metric::ClosedTotal => s.closed(),
        Metric::Stage(stage, m) => stage_value(s.stage(stage), m),
    }
}

fn is_small(n: u32) -> bool {
    (1..5).contains(&n)
}

#[derive(Debug, Default)]
struct Hidden {
    small: BTreeSet<Cell>,
    complement: BTreeSet<Cell>,
}

impl Hidden {
    fn contains(&self, cell: &Cell) -> bool {
        self.small.contains(cell) || self.complement.contains(cell)
    }
}

/// The cells to hide: small counts, then enough complements that no sum has exactly one hidden
/// figure (which could then be recovered from the others).
fn suppressed_cells(kpis: &Kpis) -> Hidden {
    let mut hidden = Hidden {
        small: SPLITS
            .iter()
            .flat_map(|split| every_metric().into_iter().map(move |m| (*split, m)))
            .filter(|cell| is_small(value(kpis, *cell)))
            .collect(),
        complement: BTreeSet::new(),
    };
    let partitions = partitions();
    // Each pass hides at least one more cell or stops, so this ends within the number of cells.
    loop {
        let mut changed = false;
        for (total, parts) in &partitions {
            let hidden_count = std::iter::once(total)
                .chain(parts)
                .filter(|c| hidden.contains(c))
                .count();
            if hidden_count != 1 {
                continue;
            }
            // The smallest non-zero visible part; failing that the total itself. Never a zero:
            // a hidden zero under a total of zero shown elsewhere would protect nothing.
            let complement = parts
                .iter()
                .filter(|p| !hidden.contains(p) && value(kpis, **p) > 0)
                .min_by_key(|p| value(kpis, **p))
                .or(Some(total).filter(|t| !hidden.contains(t)));
            if let Some(cell) = complement {
                hidden.complement.insert(*cell);
                changed = true;
            }
        }
        if !changed {
            return hidden;
        }
    }
}

fn per_stage<T>(f: impl Fn(ProcedureStage) -> T) -> PerStage<T> {
    PerStage {
        stage1: f(ProcedureStage::Stage1),
        stage2: f(ProcedureStage::Stage2),
    }
}

struct Discloser<'a> {
    kpis: &'a Kpis,
    hidden: Hidden,
}

impl Discloser<'_> {
    fn figure(&self, cell: Cell) -> Figure {
        if self.hidden.small.contains(&cell) {
            Figure::FewerThan5
        } else if self.hidden.complement.contains(&cell) {
            Figure::Suppressed
        } else {
            Figure::Count(value(self.kpis, cell))
        }
    }

    fn percent(&self, part: Cell, whole: Cell) -> Percent {
        let denominator = value(self.kpis, whole);
        if denominator == 0 {
            Percent::NotApplicable
        } else if self.hidden.contains(&part) || self.hidden.contains(&whole) {
            Percent::Suppressed
        } else {
            ratio_1dp(
                u64::from(value(self.kpis, part)),
                u64::from(denominator),
                100,
            )
            .map_or(Percent::NotApplicable, Percent::Value)
        }
    }

    fn share(&self, part: Cell, whole: Cell) -> Share {
        Share {
            count: self.figure(part),
            percent: self.percent(part, whole),
        }
    }

    fn split(&self, split: Split) -> DisclosedSplit {
        let cell = |m| (split, m);
        let stage_cell = |stage, m| (split, Metric::Stage(stage, m));
        let closed_at = |stage| stage_cell(stage, StageMetric::Closed);
        DisclosedSplit {
            received: self.figure(cell(Metric::Received)),
            anonymous: self.figure(cell(Metric::Anonymous)),
            confidential: self.figure(cell(Metric::Confidential)),
            not_whistleblowing: self.figure(cell(Metric::NotWhistleblowing)),
            withdrawn: self.figure(cell(Metric::Withdrawn)),
            closed: ClosedFigures {
                total: self.figure(cell(Metric::ClosedTotal)),
                stage1: self.share(closed_at(ProcedureStage::Stage1), cell(Metric::ClosedTotal)),
                stage2: self.share(closed_at(ProcedureStage::Stage2), cell(Metric::ClosedTotal)),
            },
            outcomes: per_stage(|stage| {
                let outcome =
                    |o| self.share(stage_cell(stage, StageMetric::Outcome(o)), closed_at(stage));
                OutcomeFigures {
                    upheld: outcome(Outcome::Upheld),
                    partially_upheld: outcome(Outcome::PartiallyUpheld),
                    not_upheld: outcome(Outcome::NotUpheld),
                }
            }),
            average_working_days: per_stage(|stage| {
                let closed = closed_at(stage);
                match split_of(self.kpis, split)
                    .stage(stage)
                    .average_working_days()
                {
                    None => Percent::NotApplicable,
                    Some(_) if self.hidden.contains(&closed) => Percent::Suppressed,
                    Some(v) => Percent::Value(v),
                }
            }),
            within_timescale: per_stage(|stage| TimescaleFigures {
                on_time: self.share(stage_cell(stage, StageMetric::OnTime), closed_at(stage)),
                within_extension: self.share(
                    stage_cell(stage, StageMetric::WithinExtension),
                    closed_at(stage),
                ),
                late: self.share(stage_cell(stage, StageMetric::Late), closed_at(stage)),
            }),
            extended: per_stage(|stage| {
                self.share(stage_cell(stage, StageMetric::Extended), closed_at(stage))
            }),
        }
    }
}

/// The figures as they may be shown to `audience`.
pub fn disclose(kpis: &Kpis, disclosure: Disclosure) -> DisclosedKpis {
    let hidden = match disclosure {
        Disclosure::Published => suppressed_cells(kpis),
        Disclosure::Internal => Hidden::default(),
    };
    let d = Discloser { kpis, hidden };
    let unreadable = match (disclosure, kpis.unreadable) {
        (Disclosure::Published, n) if is_small(n) => Figure::FewerThan5,
        (_, n) => Figure::Count(n),
    };
    DisclosedKpis {
        period: PeriodLabel(kpis.period),
        disclosure,
        overall: d.split(Split::Overall),
        nhs: d.split(Split::Nhs),
        local_authority: d.split(Split::LocalAuthority),
        unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn period() -> Period {
        Period::parse_quarter("2025-Q3").unwrap_or_else(|_| unreachable!())
    }

    fn sum(a: &SplitKpis, b: &SplitKpis) -> SplitKpis {
        let stage = |x: &StageKpis, y: &StageKpis| StageKpis {
            closed: x.closed + y.closed,
            upheld: x.upheld + y.upheld,
            partially_upheld: x.partially_upheld + y.partially_upheld,
            not_upheld: x.not_upheld + y.not_upheld,
            working_days_total: x.working_days_total + y.working_days_total,
            on_time: x.on_time + y.on_time,
            within_extension: x.within_extension + y.within_extension,
            late: x.late + y.late,
            extended: x.extended + y.extended,
        };
        SplitKpis {
            received: a.received + b.received,
            anonymous: a.anonymous + b.anonymous,
            confidential: a.confidential + b.confidential,
            not_whistleblowing: a.not_whistleblowing + b.not_whistleblowing,
            withdrawn: a.withdrawn + b.withdrawn,
            stage1: stage(&a.stage1, &b.stage1),
            stage2: stage(&a.stage2, &b.stage2),
        }
    }

    fn kpis(nhs: SplitKpis, local_authority: SplitKpis) -> Kpis {
        Kpis {
            period: period(),
            overall: sum(&nhs, &local_authority),
            nhs,
            local_authority,
            unreadable: 0,
        }
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

    const COMPLEMENT: Share = Share {
        count: Figure::Suppressed,
        percent: Percent::Suppressed,
    };

    /// Larger numbers, so that some survive and the complements are visible.
    #[test]
    fn complementary_suppression_by_hand() {
        let nhs = SplitKpis {
            received: 20,
            anonymous: 3,
            confidential: 17,
            stage1: StageKpis {
                closed: 12,
                upheld: 2,
                partially_upheld: 5,
                not_upheld: 5,
                working_days_total: 36,
                on_time: 12,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let local_authority = SplitKpis {
            received: 10,
            confidential: 10,
            stage1: StageKpis {
                closed: 6,
                not_upheld: 6,
                working_days_total: 30,
                on_time: 5,
                late: 1,
                extended: 1,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let d = disclose(&kpis(nhs, local_authority), Disclosure::Published);
        // Overall received 30 = anonymous 3 (small) + confidential 27 (hidden as complement).
        assert_eq!(d.overall.received, Figure::Count(30));
        assert_eq!(d.overall.anonymous, Figure::FewerThan5);
        assert_eq!(d.overall.confidential, Figure::Suppressed);
        // NHS 20 = 3 + 17: the same. LA 10 = 0 + 10: nothing small, nothing hidden.
        assert_eq!(d.nhs.confidential, Figure::Suppressed);
        assert_eq!(d.local_authority.anonymous, Figure::Count(0));
        assert_eq!(d.local_authority.confidential, Figure::Count(10));
        // Overall stage 1 outcomes of 18: upheld 2 (small), partially 5, not 11. The smallest
        // non-zero other part, partially (5), is hidden too; not upheld stays: 11 / 18 = 61.1%.
        let o = &d.overall.outcomes.stage1;
        assert_eq!(o.upheld, HIDDEN);
        assert_eq!(o.partially_upheld, COMPLEMENT);
        assert_eq!(o.not_upheld, share(11, 61.1));
        // NHS outcomes of 12: upheld 2, partially 5, not 5. A tie: the first (partially) goes.
        let n = &d.nhs.outcomes.stage1;
        assert_eq!((n.upheld, n.partially_upheld), (HIDDEN, COMPLEMENT));
        assert_eq!(n.not_upheld, share(5, 41.7)); // 5 / 12 = 41.67%
        // Overall timescales of 18: on time 17, within extension 0, late 1. Zero cannot hide
        // anything, so on time (17) goes with late.
        let t = &d.overall.within_timescale.stage1;
        assert_eq!(t.on_time, COMPLEMENT);
        assert_eq!(t.within_extension, share(0, 0.0));
        assert_eq!(t.late, HIDDEN);
        // LA timescales of 6: 5, 0, 1 → the same. NHS: 12, 0, 0 → all shown.
        assert_eq!(
            d.local_authority.within_timescale.stage1.on_time,
            COMPLEMENT
        );
        assert_eq!(d.nhs.within_timescale.stage1.on_time, share(12, 100.0));
        // Closures are all at stage 1: 18 = 18 + 0.
        assert_eq!(d.overall.closed.total, Figure::Count(18));
        assert_eq!(d.overall.closed.stage1, share(18, 100.0));
        assert_eq!(d.overall.closed.stage2, share(0, 0.0));
        // Averages from shown closure counts survive: 66 / 18 = 3.67 → 3.7; LA 30 / 6 = 5.0.
        assert_eq!(d.overall.average_working_days.stage1, Percent::Value(3.7));
        assert_eq!(
            d.local_authority.average_working_days.stage1,
            Percent::Value(5.0)
        );
        // Nothing to divide by at stage 2.
        assert_eq!(
            d.overall.average_working_days.stage2,
            Percent::NotApplicable
        );
        assert_eq!(
            d.overall.outcomes.stage2.upheld,
            Share {
                count: Figure::Count(0),
                percent: Percent::NotApplicable
            }
        );
        // Extensions: LA 1 of 6 and overall 1 of 18 are small.
        assert_eq!(d.local_authority.extended.stage1, HIDDEN);
        assert_eq!(d.overall.extended.stage1, HIDDEN);
        assert_eq!(d.nhs.extended.stage1, share(0, 0.0));
        // Not upheld overall 11 = NHS 5 + LA 6: nothing small, all shown.
        assert_eq!(
            d.local_authority.outcomes.stage1.not_upheld,
            share(6, 100.0)
        );
        let json = serde_json::to_value(d).unwrap_or_default();
        assert_eq!(
            json["average_working_days"]["stage2"],
            serde_json::Value::Null
        );
        assert_eq!(json["outcomes"]["stage1"]["not_upheld"]["percent"], 61.1);
    }

    /// Overall 6 = NHS 6 + LA 0 with NHS 6 hidden: no non-zero part is left to hide, and hiding
    /// the zero would protect nothing (LA's closures are shown), so the total goes.
    #[test]
    fn a_sum_with_only_zeros_left_hides_its_total() {
        let nhs = SplitKpis {
            received: 9,
            confidential: 9,
            stage1: StageKpis {
                closed: 9,
                not_upheld: 9,
                working_days_total: 60,
                on_time: 3,
                within_extension: 6,
                extended: 6,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let local_authority = SplitKpis {
            received: 6,
            confidential: 6,
            stage1: StageKpis {
                closed: 6,
                not_upheld: 6,
                working_days_total: 24,
                on_time: 6,
                ..StageKpis::default()
            },
            ..SplitKpis::default()
        };
        let d = disclose(&kpis(nhs, local_authority), Disclosure::Published);
        // NHS 9 = on time 3 (small) + within extension 6 (complement) + late 0.
        let n = &d.nhs.within_timescale.stage1;
        assert_eq!((n.on_time, n.within_extension), (HIDDEN, COMPLEMENT));
        // Overall within extension 6 = NHS 6 (hidden) + LA 0: the total is suppressed.
        let o = &d.overall.within_timescale.stage1;
        assert_eq!(o.within_extension, COMPLEMENT);
        // Overall on time 9 = NHS 3 (small) + LA 6: LA's 6 goes, and with it, in turn, LA's
        // closures (6 = 6 hidden + 0 + 0 again leaves only zeros), then NHS's (15 = 9 + 6).
        assert_eq!(
            d.local_authority.within_timescale.stage1.on_time,
            COMPLEMENT
        );
        assert_eq!(d.local_authority.closed.stage1.count, Figure::Suppressed);
        assert_eq!(d.nhs.closed.stage1.count, Figure::Suppressed);
        // The overall figures that nothing depends on stay.
        assert_eq!(d.overall.closed.total, Figure::Count(15));
        assert_eq!(d.overall.closed.stage1, share(15, 100.0));
        assert_eq!(d.overall.received, Figure::Count(15));
    }

    #[test]
    fn display_forms() {
        assert_eq!(Figure::Count(7).to_string(), "7");
        assert_eq!(Figure::FewerThan5.to_string(), "fewer than 5");
        assert_eq!(Figure::Suppressed.to_string(), "suppressed");
        assert_eq!(Percent::Value(41.7).to_string(), "41.7");
        assert_eq!(Percent::Value(5.0).to_string(), "5.0");
        assert_eq!(Percent::Suppressed.to_string(), "suppressed");
        assert_eq!(Percent::NotApplicable.to_string(), "n/a");
        let _ = date!(2025 - 01 - 01);
    }

    fn stage_kpis() -> impl Strategy<Value = StageKpis> {
        (0u32..12, 0u32..12, 0u32..12, 0u32..12, 0u32..12, 0u64..400).prop_map(
            |(upheld, partially_upheld, not_upheld, on_time, within_extension, days)| {
                // The timescale parts add up to the same total as the outcomes.
                let closed = upheld + partially_upheld + not_upheld;
                let on_time = on_time.min(closed);
                let within_extension = within_extension.min(closed - on_time);
                let late = closed - on_time - within_extension;
                StageKpis {
                    closed,
                    upheld,
                    partially_upheld,
                    not_upheld,
                    working_days_total: days * u64::from(closed),
                    on_time,
                    within_extension,
                    late,
                    extended: within_extension + late / 2,
                }
            },
        )
    }

    fn split_kpis() -> impl Strategy<Value = SplitKpis> {
        (
            0u32..15,
            0u32..15,
            0u32..5,
            0u32..5,
            stage_kpis(),
            stage_kpis(),
        )
            .prop_map(|(anonymous, confidential, nw, withdrawn, stage1, stage2)| {
                SplitKpis {
                    received: anonymous + confidential,
                    anonymous,
                    confidential,
                    not_whistleblowing: nw,
                    withdrawn,
                    stage1,
                    stage2,
                }
            })
    }

    proptest! {
        /// Whatever the numbers, no published count is 1 to 4, no shown total has exactly one
        /// hidden part, and no percentage rests on a hidden count.
        #[test]
        fn published_figures_never_give_a_small_count_away(nhs in split_kpis(), la in split_kpis()) {
            let k = kpis(nhs, la);
            let hidden = suppressed_cells(&k);
            for split in SPLITS {
                for metric in every_metric() {
                    let v = value(&k, (split, metric));
                    if is_small(v) {
                        prop_assert!(hidden.contains(&(split, metric)));
                    }
                }
            }
            for (total, parts) in partitions() {
                let sum: u32 = parts.iter().map(|p| value(&k, *p)).sum();
                prop_assert_eq!(sum, value(&k, total), "{:?} does not add up", total);
                let n = std::iter::once(&total).chain(&parts).filter(|c| hidden.contains(c)).count();
                prop_assert!(n != 1, "{:?} has exactly one hidden figure", total);
            }
            for cell in hidden.complement.iter() {
                prop_assert!(value(&k, *cell) > 0, "{:?} hidden as a zero", cell);
            }
            let d = disclose(&k, Disclosure::Published);
            for split in [&d.overall, &d.nhs, &d.local_authority] {
                let shares = [
                    split.closed.stage1, split.closed.stage2,
                    split.outcomes.stage1.upheld, split.outcomes.stage2.not_upheld,
                    split.within_timescale.stage1.late, split.within_timescale.stage2.on_time,
                    split.extended.stage1, split.extended.stage2,
                ];
                for s in shares {
                    if matches!(s.count, Figure::FewerThan5 | Figure::Suppressed) {
                        prop_assert_eq!(s.percent, Percent::Suppressed);
                    }
                    if let Figure::Count(n) = s.count {
                        prop_assert!(!is_small(n));
                    }
                }
            }
            // Internal figures are the raw numbers.
            let internal = disclose(&k, Disclosure::Internal);
            prop_assert_eq!(internal.overall.received, Figure::Count(k.overall.received));
        }
    }
}
