//! Hand-drawn SVG charts for the dashboard. A chart library would bring a canvas or a JS
//! dependency for two small charts; bars and polylines are a few lines of geometry, kept pure
//! here (tested natively) and rendered as plain `<svg>`.

use leptos::prelude::*;

/// The chart's drawing box (SVG user units; the element scales to its container).
pub const W: f64 = 720.0;
pub const H: f64 = 200.0;
/// Room for the axis labels on the left and at the bottom.
pub const LEFT: f64 = 140.0;
pub const BOTTOM: f64 = 32.0;

/// The smallest "round" number (1, 2 or 5 × 10ⁿ) at or above `v`, so the axis reads well.
pub fn nice_max(v: i64) -> i64 {
    if v <= 0 {
        return 1;
    }
    let mut p: i64 = 1;
    while p.saturating_mul(10) <= v {
        p *= 10;
    }
    for m in [1, 2, 5, 10] {
        if p.saturating_mul(m) >= v {
            return p.saturating_mul(m);
        }
    }
    p.saturating_mul(10)
}

/// Bar rectangles `(x, y, width, height)` for `values` over the plot area.
pub fn bars(values: &[i64], max: i64) -> Vec<(f64, f64, f64, f64)> {
    let n = values.len().max(1) as f64;
    let plot_w = W - LEFT;
    let plot_h = H - BOTTOM;
    let slot = plot_w / n;
    let bw = (slot * 0.7).max(1.0);
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let h = if max > 0 {
                plot_h * (v.max(0) as f64) / (max as f64)
            } else {
                0.0
            };
            (
                LEFT + slot * i as f64 + (slot - bw) / 2.0,
                plot_h - h,
                bw,
                h,
            )
        })
        .collect()
}

/// A polyline's `points` attribute for `values` (one per day) over the plot area.
pub fn line(values: &[i64], max: i64) -> String {
    let n = values.len();
    let plot_w = W - LEFT;
    let plot_h = H - BOTTOM;
    let step = if n > 1 { plot_w / (n - 1) as f64 } else { 0.0 };
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = LEFT + step * i as f64 + if n == 1 { plot_w / 2.0 } else { 0.0 };
            let y = plot_h
                - if max > 0 {
                    plot_h * v.max(0) as f64 / max as f64
                } else {
                    0.0
                };
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Revenue per day in one currency as bars; `label` formats an axis amount.
#[component]
pub fn BarChart(
    days: Vec<String>,
    values: Vec<i64>,
    #[prop(into)] title: String,
    label: Callback<i64, String>,
) -> impl IntoView {
    let max = nice_max(values.iter().copied().max().unwrap_or(0));
    let rects = bars(&values, max);
    let first = days.first().cloned().unwrap_or_default();
    let last = days.last().cloned().unwrap_or_default();
    let plot_h = H - BOTTOM;
    let aria = title.clone();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=aria>
            <title>{title}</title>
            <line class="chart__grid" x1=LEFT y1="0" x2=W y2="0"/>
            <line class="chart__grid" x1=LEFT y1=plot_h / 2.0 x2=W y2=plot_h / 2.0/>
            <line class="chart__axis" x1=LEFT y1=plot_h x2=W y2=plot_h/>
            <text class="chart__label" x=LEFT - 6.0 y="18" text-anchor="end">{label.run(max)}</text>
            <text class="chart__label" x=LEFT - 6.0 y=plot_h text-anchor="end">"0"</text>
            {rects
                .into_iter()
                .zip(days.into_iter().zip(values))
                .map(|((x, y, w, h), (day, v))| {
                    let tip = format!("{day}: {}", label.run(v));
                    view! {
                        <rect class="chart__bar" x=x y=y width=w height=h rx="2">
                            <title>{tip}</title>
                        </rect>
                    }
                })
                .collect_view()}
            <text class="chart__label" x=LEFT y=H - 4.0>{first}</text>
            <text class="chart__label" x=W y=H - 4.0 text-anchor="end">{last}</text>
        </svg>
    }
}

/// Orders created and paid per day as two lines.
#[component]
pub fn LineChart(
    days: Vec<String>,
    created: Vec<i64>,
    paid: Vec<i64>,
    #[prop(into)] title: String,
) -> impl IntoView {
    let max = nice_max(
        created
            .iter()
            .chain(paid.iter())
            .copied()
            .max()
            .unwrap_or(0),
    );
    let first = days.first().cloned().unwrap_or_default();
    let last = days.last().cloned().unwrap_or_default();
    let plot_h = H - BOTTOM;
    let aria = title.clone();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=aria>
            <title>{title}</title>
            <line class="chart__grid" x1=LEFT y1="0" x2=W y2="0"/>
            <line class="chart__grid" x1=LEFT y1=plot_h / 2.0 x2=W y2=plot_h / 2.0/>
            <line class="chart__axis" x1=LEFT y1=plot_h x2=W y2=plot_h/>
            <text class="chart__label" x=LEFT - 6.0 y="18" text-anchor="end">{max}</text>
            <text class="chart__label" x=LEFT - 6.0 y=plot_h text-anchor="end">"0"</text>
            <polyline class="chart__line chart__line--created" points=line(&created, max)/>
            <polyline class="chart__line chart__line--paid" points=line(&paid, max)/>
            <text class="chart__label" x=LEFT y=H - 4.0>{first}</text>
            <text class="chart__label" x=W y=H - 4.0 text-anchor="end">{last}</text>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maximum_is_round_and_not_below_the_data() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(10), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(12_500_000), 20_000_000);
        assert_eq!(nice_max(50_000_001), 100_000_000);
    }

    #[test]
    fn bars_fill_the_plot_in_proportion() {
        let b = bars(&[0, 5, 10], 10);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].3, 0.0);
        assert!(
            (b[2].3 - (H - BOTTOM)).abs() < 1e-9,
            "the max reaches the top"
        );
        assert!((b[1].3 * 2.0 - b[2].3).abs() < 1e-9);
        assert!(b[0].0 >= LEFT && b[2].0 + b[2].2 <= W);
    }

    #[test]
    fn lines_span_the_plot() {
        assert_eq!(
            line(&[0, 4], 4),
            format!("{LEFT:.1},{:.1} {W:.1},0.0", H - BOTTOM)
        );
        assert_eq!(line(&[], 1), "");
        assert_eq!(line(&[1], 1).split(',').count(), 2);
    }
}
