//! Reading a service's `/metrics` (Prometheus text format).

/// The value of a metric in Prometheus text (a service's `/metrics`), summed over its label sets;
/// 0 when absent. `name` may carry labels: `ingest_batches_refused_total{cause="invalid"}`.
pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The `/metrics` page of the service at `base_url` (`http://host:port`).
pub async fn fetch_metrics(base_url: &str) -> String {
    let url = format!("{base_url}/metrics");
    reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The value of `name` on the `/metrics` of the service at `base_url`, as [`metric_value`] reads
/// it.
pub async fn scrape_metric(base_url: &str, name: &str) -> f64 {
    metric_value(&fetch_metrics(base_url).await, name)
}

/// Asserts that the `/metrics` of the service at `base_url` has a line with each of `names` (a
/// name, a name with labels, or a name and its value).
pub async fn assert_exported(base_url: &str, names: &[&str]) {
    let text = fetch_metrics(base_url).await;
    for name in names {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
}
