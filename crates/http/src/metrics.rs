//! Prometheus metrics: request counts and latency per route pattern, plus gauges (database pool,
//! running agents, uptime) refreshed at scrape time. Rendered by `GET /metrics`.
//!
//! One recorder exists per process ([`Metrics::global`]), so any number of apps (tests) can share
//! it. It is also installed as the global `metrics` recorder when none is, so other crates'
//! `metrics::counter!` calls show up on `/metrics` too; our own series are recorded on it directly
//! and do not depend on that installation.

use crate::state::AppState;
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;
use eliza_domain::store::PoolStatus;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub const REQUESTS_TOTAL: &str = "http_requests_total";
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";
/// The `route` label of requests no route pattern matched.
pub const UNMATCHED: &str = "unmatched";
/// Latency buckets in seconds: fine below 100 ms (most API calls), coarse up to model-call times.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Histogram samples are folded into buckets at least this often (they also are at each scrape),
/// so an unscraped server does not accumulate raw samples.
const UPKEEP_EVERY: u64 = 1024;
/// `Content-Type` of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// Handle to the process-wide Prometheus recorder. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    requests: Arc<AtomicU64>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::global()
    }
}

/// Figures sampled at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gauges {
    pub pool: PoolStatus,
    pub running_agents: usize,
    pub uptime: Duration,
    /// Whether the cluster backplane's link is up (`None` on a single node).
    pub backplane_connected: Option<bool>,
}

impl Gauges {
    pub fn of(state: &AppState) -> Self {
        Gauges {
            pool: state.store.pool_status(),
            running_agents: state.agents.running().len(),
            uptime: state.started.elapsed(),
            backplane_connected: state
                .cluster
                .as_ref()
                .map(|cluster| cluster.backplane.connected()),
        }
    }
}

impl Metrics {
    /// The process-wide recorder, built (and installed globally if possible) on first use.
    pub fn global() -> Self {
        GLOBAL.get_or_init(Metrics::build).clone()
    }

    fn build() -> Self {
        let builder = PrometheusBuilder::new();
        // Only fails for an empty bucket list, which DURATION_BUCKETS is not.
        let builder = builder
            .set_buckets_for_metric(
                Matcher::Full(REQUEST_DURATION.to_owned()),
                &DURATION_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = Arc::new(builder.build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(Arc::clone(&recorder)).is_err() {
            tracing::debug!(
                "a global metrics recorder is already installed; /metrics shows the HTTP series only"
            );
        }
        let metrics = Metrics {
            recorder,
            handle,
            requests: Arc::new(AtomicU64::new(0)),
        };
        metrics.describe();
        metrics
    }

    /// Runs `f` with our recorder as the current one, whatever the global recorder is.
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    fn describe(&self) {
        self.with(|| {
            metrics::describe_counter!(
                REQUESTS_TOTAL,
                "HTTP requests by method, route pattern and status class"
            );
            metrics::describe_histogram!(
                REQUEST_DURATION,
                metrics::Unit::Seconds,
                "HTTP request latency by method and route pattern"
            );
            metrics::describe_gauge!("db_pool_connections", "Open database connections");
            metrics::describe_gauge!("db_pool_idle_connections", "Idle database connections");
            metrics::describe_gauge!("db_pool_max_connections", "Database pool size limit");
            metrics::describe_gauge!("agents_running", "Agents with a running runtime");
            metrics::describe_gauge!("process_uptime_seconds", "Seconds since the server started");
            metrics::describe_gauge!(
                "cluster_backplane_connected",
                "1 while the link to the other nodes (LISTEN/NOTIFY or NATS) is up, 0 while it is down"
            );
        });
    }

    /// Counts one finished request. `route` must be a route pattern or [`UNMATCHED`], never a raw path.
    pub fn record_request(
        &self,
        method: &Method,
        route: String,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        self.with(|| {
            metrics::counter!(REQUESTS_TOTAL, "method" => method, "route" => route.clone(), "status" => status_class(status))
                .increment(1);
            metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route).record(elapsed.as_secs_f64());
        });
        if self.requests.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// Sets the gauges, then renders everything in the Prometheus text format.
    pub fn render(&self, gauges: &Gauges) -> String {
        self.with(|| {
            metrics::gauge!("db_pool_connections").set(gauges.pool.connections);
            metrics::gauge!("db_pool_idle_connections").set(gauges.pool.idle);
            metrics::gauge!("db_pool_max_connections").set(gauges.pool.max_size);
            metrics::gauge!("agents_running").set(gauges.running_agents as f64);
            metrics::gauge!("process_uptime_seconds").set(gauges.uptime.as_secs_f64());
            if let Some(connected) = gauges.backplane_connected {
                metrics::gauge!("cluster_backplane_connected").set(f64::from(u8::from(connected)));
            }
        });
        self.handle.render()
    }

    /// [`Metrics::render`] with the gauges of this application.
    pub fn render_for(state: &AppState) -> String {
        state.metrics.render(&Gauges::of(state))
    }
}

/// Standard methods by name; anything else is `other`, so clients cannot invent label values.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    const NAMES: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .position(|known| known == method)
        .map_or("other", |i| NAMES[i])
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The `route` label: the matched pattern (e.g. `/api/agents/{agent_id}`) or [`UNMATCHED`].
fn route_label(pattern: Option<String>) -> String {
    pattern
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| UNMATCHED.to_owned())
}

/// Middleware recording `http_requests_total` and `http_request_duration_seconds`.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map_or_else(Metrics::global, |state| state.metrics.clone());
    let method = req.method().clone();
    let result = next.call(req).await;
    // Read from the answered request: once routed, actix looks the pattern up by the matched
    // resource, where asking before routing ran every route's regex a second time per request.
    // Requests our middlewares reject (401, 429) are answered as responses and matched by path,
    // so they keep their label; an error that escapes as `Err` has no request left to read.
    let (status, route) = match &result {
        Ok(res) => (res.status(), route_label(res.request().match_pattern())),
        Err(err) => (err.as_response_error().status_code(), route_label(None)),
    };
    metrics.record_request(&method, route, status, started.elapsed());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(text: &str, needle: &str) -> Vec<String> {
        text.lines()
            .filter(|line| line.contains(needle) && !line.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(
            route_label(Some("/api/agents/{agent_id}".into())),
            "/api/agents/{agent_id}"
        );
        assert_eq!(route_label(None), UNMATCHED);
        assert_eq!(route_label(Some(String::new())), UNMATCHED);
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(StatusCode::NO_CONTENT), "2xx");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(status_class(StatusCode::BAD_GATEWAY), "5xx");
    }

    #[test]
    fn requests_and_gauges_are_rendered() {
        let metrics = Metrics::global();
        let route = "/unit-test/{id}";
        metrics.record_request(
            &Method::GET,
            route.to_owned(),
            StatusCode::OK,
            Duration::from_millis(3),
        );
        metrics.record_request(
            &Method::GET,
            route.to_owned(),
            StatusCode::NOT_FOUND,
            Duration::from_millis(30),
        );
        let gauges = Gauges {
            pool: PoolStatus {
                connections: 4,
                idle: 3,
                max_size: 8,
            },
            running_agents: 2,
            uptime: Duration::from_secs(5),
            backplane_connected: Some(false),
        };
        let text = metrics.render(&gauges);
        let counters = series(&text, "route=\"/unit-test/{id}\"");
        assert!(
            counters.iter().any(|l| l.starts_with(REQUESTS_TOTAL)
                && l.contains("status=\"2xx\"")
                && l.ends_with(" 1")),
            "{text}"
        );
        assert!(
            counters.iter().any(|l| l.contains("status=\"4xx\"")),
            "{text}"
        );
        assert!(
            counters
                .iter()
                .any(|l| l.starts_with("http_request_duration_seconds_bucket")
                    && l.contains("le=\"0.005\"")),
            "real buckets, not a summary: {text}"
        );
        assert!(text.contains("db_pool_max_connections 8"), "{text}");
        assert!(text.contains("agents_running 2"), "{text}");
        assert!(text.contains("process_uptime_seconds 5"), "{text}");
        assert!(text.contains("cluster_backplane_connected 0"), "{text}");
    }
}
