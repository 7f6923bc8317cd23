//! Small horizontal bar charts as inline SVG: no script, no external assets, readable in print
//! and by screen readers (each chart has a title and the same figures are in the tables).

use crate::procedure::Figure;

/// One bar: its label and its disclosed figure. Suppressed figures get no bar, only the words.
pub struct Bar<'a> {
    pub label: &'a str,
    pub figure: Figure,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const LABEL_WIDTH: u32 = 230;
const BAR_AREA: u32 = 300;
const ROW_HEIGHT: u32 = 28;

pub fn bar_chart(title: &str, bars: &[Bar<'_>]) -> String {
    let largest = bars
        .iter()
        .filter_map(|bar| match bar.figure {
            Figure::Count(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW_HEIGHT * u32::try_from(bars.len()).unwrap_or(0) + 10;
    let width = LABEL_WIDTH + BAR_AREA + 110;
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"{id}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\"><title id=\"{id}\">{title}</title>",
        id = chart_id(title),
        title = escape(title),
    );
    for (index, bar) in bars.iter().enumerate() {
        let y = ROW_HEIGHT * u32::try_from(index).unwrap_or(0) + 5;
        let text_y = y + 17;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{text_y}\" text-anchor=\"end\" font-size=\"13\" fill=\"#0b0c0c\">{}</text>",
            LABEL_WIDTH - 8,
            escape(bar.label)
        ));
        let (length, value) = match bar.figure {
            Figure::Count(n) => ((n * BAR_AREA) / largest, n.to_string()),
            Figure::FewerThan5 => (0, "fewer than 5".to_owned()),
            Figure::Suppressed => (0, "suppressed".to_owned()),
        };
        if length > 0 {
            svg.push_str(&format!(
                "<rect x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{length}\" height=\"20\" fill=\"#003087\"/>"
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{text_y}\" font-size=\"13\" fill=\"#0b0c0c\">{}</text>",
            LABEL_WIDTH + length + 6,
            escape(&value)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn chart_id(title: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("chart-{slug}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_suppressed_figures_have_no_bar() {
        let svg = bar_chart(
            "Closures <by> stage",
            &[
                Bar {
                    label: "Stage 1",
                    figure: Figure::Count(10),
                },
                Bar {
                    label: "Stage 2",
                    figure: Figure::Count(5),
                },
                Bar {
                    label: "Other",
                    figure: Figure::FewerThan5,
                },
            ],
        );
        assert!(
            svg.contains(
                "<title id=\"chart-closures--by--stage\">Closures &lt;by&gt; stage</title>"
            )
        );
        assert!(svg.contains("width=\"300\" height=\"20\""));
        assert!(svg.contains("width=\"150\" height=\"20\""));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(">fewer than 5<"));
        assert!(!svg.contains("style="));
    }
}
