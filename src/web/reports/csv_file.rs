//! The report as CSV: one line per measure and split, with the disclosed text (so suppressed
//! figures stay suppressed in a spreadsheet).

use super::table::{columns, rows};
use crate::service::governance::BoardReport;

pub fn render(report: &BoardReport) -> Result<String, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let period = &report.figures.period.0;
    writer
        .write_record([
            "organisation",
            "period",
            "start",
            "end",
            "section",
            "measure",
            "services",
            "count",
            "percent",
        ])
        .map_err(|e| e.to_string())?;
    let names = columns(report);
    for row in rows(report) {
        for (column, cell) in names.iter().zip(&row.cells) {
            writer
                .write_record([
                    report.organisation.as_str(),
                    &period.label(),
                    &period.start().to_string(),
                    &period.end().to_string(),
                    row.section,
                    row.measure,
                    column,
                    &cell.count,
                    &cell.percent,
                ])
                .map_err(|e| e.to_string())?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
