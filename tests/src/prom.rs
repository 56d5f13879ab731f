//! Reading Prometheus text exposition, for harnesses that split a latency between processes:
//! the shim's hand-off histogram and the Temporal server's own service and persistence
//! histograms, each scraped before and after a scenario and compared.

use std::collections::BTreeMap;

/// One scrape: every sample line, keyed by its full series (`name{labels}` as exposed).
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                // The value follows the last space that is outside the braces; labels may hold
                // spaces inside quotes, values never do.
                let (series, value) = line.rsplit_once(' ')?;
                let value = value.trim().parse::<f64>().ok()?;
                Some((series.trim().to_owned(), value))
            })
            .collect();
        Self { samples }
    }

    /// Scrapes `url`; an unreachable endpoint is an empty scrape (the figure is then absent,
    /// never invented).
    pub async fn fetch(http: &reqwest::Client, url: &str) -> Self {
        match http.get(url).send().await {
            Ok(r) if r.status().is_success() => Self::parse(&r.text().await.unwrap_or_default()),
            _ => Self::default(),
        }
    }

    /// The histogram `name` summed over the series whose labels contain every `label="value"`
    /// pair of `labels`.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Histogram {
        let matches = |series: &str| {
            labels
                .iter()
                .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        };
        let mut h = Histogram::default();
        for (series, value) in &self.samples {
            let (metric, rest) = series.split_once('{').unwrap_or((series.as_str(), ""));
            if !matches(rest) {
                continue;
            }
            if metric == format!("{name}_sum") {
                h.sum += value;
            } else if metric == format!("{name}_count") {
                h.count += value;
            } else if metric == format!("{name}_bucket")
                && let Some(le) = label(rest, "le")
            {
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap_or(f64::NAN)
                };
                *h.buckets.entry(OrderedLe(le)).or_default() += value;
            }
        }
        h
    }
}

fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{key}=\""))? + key.len() + 2;
    let end = labels[start..].find('"')?;
    Some(&labels[start..start + end])
}

/// A bucket bound, ordered (bounds are never NaN in a well-formed exposition).
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrderedLe(f64);
impl Eq for OrderedLe {}
impl PartialOrd for OrderedLe {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedLe {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A cumulative histogram (seconds), or the difference of two scrapes of one.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    pub count: f64,
    pub sum: f64,
    buckets: BTreeMap<OrderedLe, f64>,
}

impl Histogram {
    /// What was observed between `before` and `self`.
    pub fn since(&self, before: &Histogram) -> Histogram {
        Histogram {
            count: self.count - before.count,
            sum: self.sum - before.sum,
            buckets: self
                .buckets
                .iter()
                .map(|(le, n)| (*le, n - before.buckets.get(le).copied().unwrap_or(0.0)))
                .collect(),
        }
    }

    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0.0).then(|| 1000.0 * self.sum / self.count)
    }

    /// The upper bound (ms) of the bucket holding quantile `q`: a histogram only knows that
    /// much, so the figure is an upper bound, reported as such.
    pub fn quantile_upper_ms(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        let wanted = q * self.count;
        self.buckets
            .iter()
            .find(|(_, cumulative)| **cumulative >= wanted)
            .map(|(le, _)| 1000.0 * le.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP service_latency latency
# TYPE service_latency histogram
service_latency_bucket{namespace="default",operation="StartWorkflowExecution",service_name="frontend",le="0.005"} 2
service_latency_bucket{namespace="default",operation="StartWorkflowExecution",service_name="frontend",le="0.01"} 9
service_latency_bucket{namespace="default",operation="StartWorkflowExecution",service_name="frontend",le="+Inf"} 10
service_latency_sum{namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 0.08
service_latency_count{namespace="default",operation="StartWorkflowExecution",service_name="frontend"} 10
service_latency_sum{namespace="default",operation="StartWorkflowExecution",service_name="history"} 0.05
service_latency_count{namespace="default",operation="StartWorkflowExecution",service_name="history"} 10
shim_handoff_duration_seconds_sum{kind="form"} 1.5
shim_handoff_duration_seconds_count{kind="form"} 3
"#;

    #[test]
    fn a_histogram_is_selected_by_its_labels_and_differenced() {
        let after = Scrape::parse(TEXT);
        let frontend = after.histogram(
            "service_latency",
            &[
                ("operation", "StartWorkflowExecution"),
                ("service_name", "frontend"),
            ],
        );
        assert_eq!(frontend.count, 10.0);
        assert_eq!(frontend.mean_ms(), Some(8.0));
        assert_eq!(frontend.quantile_upper_ms(0.5), Some(10.0));
        assert_eq!(frontend.quantile_upper_ms(0.99), Some(f64::INFINITY));
        let both = after.histogram(
            "service_latency",
            &[("operation", "StartWorkflowExecution")],
        );
        assert_eq!(both.count, 20.0);

        let handoff = after.histogram("shim_handoff_duration_seconds", &[("kind", "form")]);
        let none = Scrape::default().histogram("shim_handoff_duration_seconds", &[]);
        let delta = handoff.since(&none);
        assert_eq!(delta.mean_ms(), Some(500.0));
        assert_eq!(delta.since(&handoff).mean_ms(), None);
    }
}
