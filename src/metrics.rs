//! `/metrics` in Prometheus text format for every service. Each service declares its own metrics
//! in its `metrics.rs` (registered in the process-wide default registry); this module only
//! serves them.

use axum::{Router, http::header, response::IntoResponse, routing::get};

/// Declares a metric registered in the default registry on first use:
/// `metric!(NAME: IntCounter = register_int_counter!("name", "help"));`
#[macro_export]
macro_rules! metric {
    ($name:ident: $ty:ty = $register:expr) => {
        pub static $name: ::std::sync::LazyLock<$ty> =
            ::std::sync::LazyLock::new(|| $register.expect("metric names are unique"));
    };
}
use prometheus::{Encoder, TextEncoder};

/// Every registered metric, in the text exposition format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&prometheus::gather(), &mut buffer)
        .expect("the text encoder writes to memory");
    String::from_utf8(buffer).expect("the text format is UTF-8")
}

/// `GET /metrics`, to merge into a service's HTTP routes.
pub fn router() -> Router {
    Router::new().route("/metrics", get(serve))
}

async fn serve() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            TextEncoder::new().format_type().to_owned(),
        )],
        render(),
    )
}
