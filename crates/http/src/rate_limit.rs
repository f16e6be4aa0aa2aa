//! Per-client fixed-window rate limits with the semantics of express-rate-limit v8 as elizaOS 1.7.2
//! configures it (API spec §1.4): each client's window starts at its first hit, every hit counts
//! (429s included), IPv6 clients are keyed by their /56, and the draft-6 `RateLimit-*` headers are
//! set on every limited response.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError, web};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const API_MESSAGE: &str = "Too many requests. Please try again later.";
const UPLOAD_MESSAGE: &str = "Too many upload attempts. Please try again later.";
const FILE_SYSTEM_MESSAGE: &str = "Too many file operations. Please try again later.";
const CHANNEL_MEDIA_MESSAGE: &str = "Too many requests, please try again later.";
const HEALTH_MESSAGE: &str = "Too many health check requests from this IP, please try again later.";
/// Expired windows are swept at least once per this many hits...
const SWEEP_EVERY: u32 = 4096;
/// ...and whenever the map has doubled since the last sweep (never below this size).
const MIN_SWEEP_LEN: usize = 1024;

/// How many requests one client may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitRule {
    pub max: u32,
    pub window: Duration,
}

impl LimitRule {
    pub const fn new(max: u32, window: Duration) -> Self {
        LimitRule { max, window }
    }

    /// `RateLimit-Policy: <max>;w=<window seconds>`.
    fn policy(&self) -> String {
        format!("{};w={}", self.max, ceil_secs(self.window))
    }
}

/// Rate-limit settings. [`Default`] is the 1.7.2 behaviour plus the loopback exemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `false` switches every limiter off (no counting, no headers).
    pub enabled: bool,
    /// Loopback clients (127.0.0.0/8, ::1) are never limited, so local tools and tests are not
    /// throttled. Behind a reverse proxy on the same host, enable `trust_forwarded_for` as well.
    pub exempt_loopback: bool,
    /// Every `/api/*` request: 1000 per 15 minutes in 1.7.2.
    pub api: LimitRule,
    /// `/healthz` and `/health`: 100 per minute in 1.7.2; loopback and private addresses are
    /// always exempt, as in 1.7.2.
    pub health: LimitRule,
    /// `/api/messaging/channels/:id/upload-media`, the seed's `/api/media/upload` and every
    /// `/api/audio/*` route: 50 per 15 minutes in 1.7.2.
    pub upload: LimitRule,
    /// The same routes again: 100 file operations per 5 minutes in 1.7.2.
    pub file_system: LimitRule,
    /// `/api/media/channels/:id/upload-media`: 100 per 15 minutes, with the legacy
    /// `X-RateLimit-*` headers, in 1.7.2.
    pub channel_media: LimitRule,
    /// Key clients by the first `X-Forwarded-For` hop instead of the peer address. Only safe when
    /// a trusted proxy sets the header; otherwise clients could pick their own key.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            exempt_loopback: true,
            api: LimitRule::new(1000, Duration::from_secs(15 * 60)),
            health: LimitRule::new(100, Duration::from_secs(60)),
            upload: LimitRule::new(50, Duration::from_secs(15 * 60)),
            file_system: LimitRule::new(100, Duration::from_secs(5 * 60)),
            channel_media: LimitRule::new(100, Duration::from_secs(15 * 60)),
            trust_forwarded_for: false,
        }
    }
}

/// Who a limit applies to: an IPv4 address, an IPv6 /56 prefix, or "unknown" without a peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Ip(IpAddr),
    Unknown,
}

impl ClientKey {
    /// The key of an address: IPv4 (also IPv4-mapped IPv6) as is, other IPv6 masked to /56.
    pub fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(v6)) => {
                let masked = u128::from(v6) & !(u128::MAX >> 56);
                ClientKey::Ip(IpAddr::V6(Ipv6Addr::from(masked)))
            }
            Some(ip) => ClientKey::Ip(ip),
            None => ClientKey::Unknown,
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::Ip(ip @ IpAddr::V6(_)) => write!(f, "{ip}/56"),
            ClientKey::Ip(ip) => write!(f, "{ip}"),
            ClientKey::Unknown => f.write_str("unknown"),
        }
    }
}

/// The client address a request is keyed by for rate limits: the peer address, or the first
/// `X-Forwarded-For` hop when `trust_forwarded_for` is set and that hop parses. IPv4-mapped IPv6
/// addresses are returned as IPv4.
pub fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| forwarded_for(headers))
        .flatten();
    forwarded
        .or(peer.map(|peer| peer.ip()))
        .map(|ip| ip.to_canonical())
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let first = headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .split(',')
        .next()?
        .trim();
    first
        .parse()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// Loopback or private-network addresses, which 1.7.2's health limiter skips.
fn is_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

/// The outcome of one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the client's window ends.
    pub reset: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    hits: u32,
    ends: Instant,
}

#[derive(Debug)]
struct Windows {
    clients: HashMap<ClientKey, Window>,
    hits_since_sweep: u32,
    sweep_at_len: usize,
}

/// One limiter: a rule and the current window of every client seen within it.
#[derive(Debug)]
pub struct FixedWindow {
    rule: LimitRule,
    /// `RateLimit-Policy` and `RateLimit-Limit`, the same on every response.
    policy: HeaderValue,
    limit: HeaderValue,
    windows: Mutex<Windows>,
}

impl FixedWindow {
    pub fn new(rule: LimitRule) -> Self {
        let windows = Windows {
            clients: HashMap::new(),
            hits_since_sweep: 0,
            sweep_at_len: MIN_SWEEP_LEN,
        };
        FixedWindow {
            rule,
            policy: HeaderValue::from_str(&rule.policy()).unwrap_or(HeaderValue::from_static("")),
            limit: HeaderValue::from(rule.max),
            windows: Mutex::new(windows),
        }
    }

    pub fn rule(&self) -> LimitRule {
        self.rule
    }

    /// Counts a hit by `key` at `now` (callers pass `Instant::now()`; tests pass any instant).
    pub fn hit(&self, key: ClientKey, now: Instant) -> Decision {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.sweep_if_due(now);
        let window = windows.clients.entry(key).or_insert(Window {
            hits: 0,
            ends: now + self.rule.window,
        });
        if window.ends <= now {
            *window = Window {
                hits: 0,
                ends: now + self.rule.window,
            };
        }
        window.hits = window.hits.saturating_add(1);
        Decision {
            allowed: window.hits <= self.rule.max,
            limit: self.rule.max,
            remaining: self.rule.max.saturating_sub(window.hits),
            reset: window.ends.saturating_duration_since(now),
        }
    }

    /// How many clients currently have a window (for tests and diagnostics).
    pub fn tracked_clients(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clients
            .len()
    }
}

impl Windows {
    /// Drops ended windows every [`SWEEP_EVERY`] hits or when the map doubled, so memory stays
    /// bounded by the clients active within one window, at amortised constant cost per hit.
    fn sweep_if_due(&mut self, now: Instant) {
        self.hits_since_sweep += 1;
        if self.hits_since_sweep < SWEEP_EVERY && self.clients.len() < self.sweep_at_len {
            return;
        }
        self.clients.retain(|_, window| window.ends > now);
        self.hits_since_sweep = 0;
        self.sweep_at_len = (self.clients.len() * 2).max(MIN_SWEEP_LEN);
    }
}

/// The limiters of one application, built from its [`RateLimitConfig`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimiters {
    config: Arc<RateLimitConfig>,
    api: Arc<FixedWindow>,
    health: Arc<FixedWindow>,
    upload: Arc<FixedWindow>,
    file_system: Arc<FixedWindow>,
    channel_media: Arc<FixedWindow>,
}

impl Default for RateLimiters {
    fn default() -> Self {
        RateLimiters::new(&RateLimitConfig::default())
    }
}

impl RateLimiters {
    pub fn new(config: &RateLimitConfig) -> Self {
        RateLimiters {
            api: Arc::new(FixedWindow::new(config.api)),
            health: Arc::new(FixedWindow::new(config.health)),
            upload: Arc::new(FixedWindow::new(config.upload)),
            file_system: Arc::new(FixedWindow::new(config.file_system)),
            channel_media: Arc::new(FixedWindow::new(config.channel_media)),
            config: Arc::new(config.clone()),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    pub fn api(&self) -> &FixedWindow {
        &self.api
    }

    pub fn health(&self) -> &FixedWindow {
        &self.health
    }

    /// The limiter that applies to this client, or `None` when it is exempt.
    fn applicable(&self, kind: Kind, ip: Option<IpAddr>) -> Option<&FixedWindow> {
        let exempt = !self.config.enabled
            || (self.config.exempt_loopback && ip.is_some_and(|ip| ip.is_loopback()))
            || (kind == Kind::Health && ip.is_some_and(is_private));
        if exempt {
            return None;
        }
        Some(match kind {
            Kind::Api => &self.api,
            Kind::Health => &self.health,
            Kind::Upload => &self.upload,
            Kind::FileSystem => &self.file_system,
            Kind::ChannelMedia => &self.channel_media,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Api,
    Health,
    Upload,
    FileSystem,
    ChannelMedia,
}

impl Kind {
    fn rejection(self) -> HttpResponse {
        let too_many = StatusCode::TOO_MANY_REQUESTS;
        match self {
            Kind::Api => {
                ApiError::coded(too_many, "RATE_LIMIT_EXCEEDED", API_MESSAGE).error_response()
            }
            Kind::Upload => ApiError::coded(too_many, "UPLOAD_RATE_LIMIT_EXCEEDED", UPLOAD_MESSAGE)
                .error_response(),
            Kind::FileSystem => {
                ApiError::coded(too_many, "FILE_RATE_LIMIT_EXCEEDED", FILE_SYSTEM_MESSAGE)
                    .error_response()
            }
            Kind::ChannelMedia => ApiError::plain(too_many, CHANNEL_MEDIA_MESSAGE).error_response(),
            // express `res.send(string)` answers HTML.
            Kind::Health => HttpResponse::TooManyRequests()
                .content_type("text/html; charset=utf-8")
                .body(HEALTH_MESSAGE),
        }
    }
}

/// The API limiter (every `/api/*` request); 429 in family A with `RATE_LIMIT_EXCEEDED`.
pub async fn limit_api(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    limit(Kind::Api, req, next).await
}

/// The upload limiter (upload and audio routes); 429 `UPLOAD_RATE_LIMIT_EXCEEDED`.
pub async fn limit_upload(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    limit(Kind::Upload, req, next).await
}

/// The file-operation limiter (the same routes); 429 `FILE_RATE_LIMIT_EXCEEDED`.
pub async fn limit_file_system(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    limit(Kind::FileSystem, req, next).await
}

/// The channel-media limiter (`/api/media/channels/:id/upload-media`); 429 in family B with
/// the legacy `X-RateLimit-*` headers.
pub async fn limit_channel_media(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    limit(Kind::ChannelMedia, req, next).await
}

/// The upload and file-operation limiters, in 1.7.2's order (upload first), on a route.
pub fn upload_limited(route: actix_web::Route) -> actix_web::Route {
    route
        .wrap(actix_web::middleware::from_fn(limit_file_system))
        .wrap(actix_web::middleware::from_fn(limit_upload))
}

/// The health limiter (`/healthz`, `/health`); private addresses are skipped; 429 as plain text.
pub async fn limit_health(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    limit(Kind::Health, req, next).await
}

async fn limit<B: MessageBody>(
    kind: Kind,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let limiters = &state.limiters;
    let ip = client_ip(
        req.peer_addr(),
        req.headers(),
        limiters.config.trust_forwarded_for,
    );
    let Some(limiter) = limiters.applicable(kind, ip) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let decision = limiter.hit(ClientKey::of(ip), Instant::now());
    let headers = match kind {
        Kind::ChannelMedia => set_legacy_headers,
        _ => set_headers,
    };
    if !decision.allowed {
        let mut res = req.into_response(kind.rejection());
        headers(res.headers_mut(), limiter, &decision, true);
        return Ok(res.map_into_right_body());
    }
    let mut res = next.call(req).await?;
    // express sets headers before the handler, so of stacked limiters (API, upload, file) the
    // last to run wins; here the innermost sets them first, and outer ones leave them.
    let set_by_inner = match kind {
        Kind::ChannelMedia => res.headers().contains_key("x-ratelimit-limit"),
        _ => res.headers().contains_key("ratelimit-limit"),
    };
    if !set_by_inner {
        headers(res.headers_mut(), limiter, &decision, false);
    }
    Ok(res.map_into_left_body())
}

fn ceil_secs(duration: Duration) -> u64 {
    duration
        .as_millis()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// The draft-6 headers (`RateLimit-Reset` omitted at zero, as express-rate-limit does), plus
/// `Retry-After` on a rejection.
fn set_headers(
    headers: &mut HeaderMap,
    limiter: &FixedWindow,
    decision: &Decision,
    rejected: bool,
) {
    let reset = ceil_secs(decision.reset);
    headers.insert(
        HeaderName::from_static("ratelimit-policy"),
        limiter.policy.clone(),
    );
    headers.insert(
        HeaderName::from_static("ratelimit-limit"),
        limiter.limit.clone(),
    );
    headers.insert(
        HeaderName::from_static("ratelimit-remaining"),
        HeaderValue::from(decision.remaining),
    );
    if reset > 0 {
        headers.insert(
            HeaderName::from_static("ratelimit-reset"),
            HeaderValue::from(reset),
        );
    }
    if rejected {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(reset));
    }
}

/// express-rate-limit's legacy headers: `X-RateLimit-Limit`, `-Remaining`, and `-Reset` as
/// the epoch second the window ends; `Retry-After` on a rejection.
fn set_legacy_headers(
    headers: &mut HeaderMap,
    limiter: &FixedWindow,
    decision: &Decision,
    rejected: bool,
) {
    let reset = ceil_secs(decision.reset);
    let reset_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs())
        .saturating_add(reset);
    headers.insert(
        HeaderName::from_static("x-ratelimit-limit"),
        limiter.limit.clone(),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-remaining"),
        HeaderValue::from(decision.remaining),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-reset"),
        HeaderValue::from(reset_at),
    );
    if rejected {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(reset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn window_counts_rejects_and_resets() {
        let limiter = FixedWindow::new(LimitRule::new(2, Duration::from_secs(60)));
        let key = ClientKey::of(ip("203.0.113.7"));
        let t0 = Instant::now();
        let first = limiter.hit(key, t0);
        assert_eq!(
            (first.allowed, first.remaining, first.reset),
            (true, 1, Duration::from_secs(60))
        );
        let second = limiter.hit(key, t0 + Duration::from_secs(10));
        assert_eq!(
            (second.allowed, second.remaining, second.reset),
            (true, 0, Duration::from_secs(50))
        );
        let third = limiter.hit(key, t0 + Duration::from_secs(59));
        assert_eq!((third.allowed, third.remaining), (false, 0));
        assert!(
            !limiter.hit(key, t0 + Duration::from_secs(59)).allowed,
            "rejections keep counting"
        );
        let fresh = limiter.hit(key, t0 + Duration::from_secs(60));
        assert_eq!(
            (fresh.allowed, fresh.remaining, fresh.reset),
            (true, 1, Duration::from_secs(60))
        );
        let other = limiter.hit(
            ClientKey::of(ip("203.0.113.8")),
            t0 + Duration::from_secs(59),
        );
        assert!(other.allowed, "clients are counted separately");
    }

    #[test]
    fn ipv6_is_keyed_by_56_and_mapped_ipv4_as_ipv4() {
        let a = ClientKey::of(ip("2001:db8:abcd:12ff:1::1"));
        let b = ClientKey::of(ip("2001:db8:abcd:1200::9"));
        let c = ClientKey::of(ip("2001:db8:abcd:1300::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "2001:db8:abcd:1200::/56");
        assert_eq!(
            ClientKey::of(ip("::ffff:198.51.100.4")),
            ClientKey::of(ip("198.51.100.4"))
        );
        assert_eq!(ClientKey::of(None).to_string(), "unknown");

        let limiter = FixedWindow::new(LimitRule::new(1, Duration::from_secs(60)));
        let now = Instant::now();
        assert!(limiter.hit(a, now).allowed);
        assert!(
            !limiter.hit(b, now).allowed,
            "the same /56 shares one window"
        );
    }

    #[test]
    fn exemptions() {
        let limiters = RateLimiters::new(&RateLimitConfig::default());
        assert!(limiters.applicable(Kind::Api, ip("127.0.0.1")).is_none());
        assert!(limiters.applicable(Kind::Api, ip("::1")).is_none());
        assert!(
            limiters.applicable(Kind::Api, ip("10.1.2.3")).is_some(),
            "private is only exempt from health"
        );
        assert!(
            limiters.applicable(Kind::Api, None).is_some(),
            "no peer address is keyed as unknown"
        );
        assert!(
            limiters
                .applicable(Kind::Health, ip("192.168.1.9"))
                .is_none()
        );
        assert!(
            limiters
                .applicable(Kind::Health, ip("172.20.0.1"))
                .is_none()
        );
        assert!(limiters.applicable(Kind::Health, ip("fd00::1")).is_none());
        assert!(limiters.applicable(Kind::Health, ip("8.8.8.8")).is_some());

        let strict = RateLimiters::new(&RateLimitConfig {
            exempt_loopback: false,
            ..RateLimitConfig::default()
        });
        assert!(strict.applicable(Kind::Api, ip("127.0.0.1")).is_some());
        assert!(
            strict.applicable(Kind::Health, ip("127.0.0.1")).is_none(),
            "1.7.2 always skips loopback for health"
        );

        let off = RateLimiters::new(&RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        });
        assert!(off.applicable(Kind::Api, ip("8.8.8.8")).is_none());
        assert!(off.applicable(Kind::Health, ip("8.8.8.8")).is_none());
    }

    #[test]
    fn client_ip_uses_the_peer_unless_forwarded_for_is_trusted() {
        let peer: SocketAddr = "203.0.113.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("198.51.100.9, 10.0.0.1"),
        );
        assert_eq!(client_ip(Some(peer), &headers, false), ip("203.0.113.1"));
        assert_eq!(client_ip(Some(peer), &headers, true), ip("198.51.100.9"));
        assert_eq!(client_ip(None, &headers, true), ip("198.51.100.9"));
        headers.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("garbage"),
        );
        assert_eq!(
            client_ip(Some(peer), &headers, true),
            ip("203.0.113.1"),
            "an unparsable hop falls back"
        );
        assert_eq!(client_ip(None, &HeaderMap::new(), false), None);
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:1".parse().unwrap();
        assert_eq!(
            client_ip(Some(mapped), &HeaderMap::new(), false),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ended_windows_are_swept() {
        let limiter = FixedWindow::new(LimitRule::new(5, Duration::from_secs(1)));
        let t0 = Instant::now();
        for i in 0..(MIN_SWEEP_LEN as u32) {
            limiter.hit(
                ClientKey::of(Some(IpAddr::from([10, 0, (i >> 8) as u8, i as u8]))),
                t0,
            );
        }
        assert_eq!(limiter.tracked_clients(), MIN_SWEEP_LEN);
        limiter.hit(
            ClientKey::of(ip("198.51.100.1")),
            t0 + Duration::from_secs(2),
        );
        assert_eq!(
            limiter.tracked_clients(),
            1,
            "the map reached its sweep size: ended windows are gone"
        );
    }

    #[test]
    fn headers_follow_draft_6() {
        let limiter = FixedWindow::new(LimitRule::new(1000, Duration::from_secs(900)));
        let decision = Decision {
            allowed: false,
            limit: 1000,
            remaining: 0,
            reset: Duration::from_millis(1500),
        };
        let mut headers = HeaderMap::new();
        set_headers(&mut headers, &limiter, &decision, true);
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(get("ratelimit-policy").as_deref(), Some("1000;w=900"));
        assert_eq!(get("ratelimit-limit").as_deref(), Some("1000"));
        assert_eq!(get("ratelimit-remaining").as_deref(), Some("0"));
        assert_eq!(get("ratelimit-reset").as_deref(), Some("2"));
        assert_eq!(get("retry-after").as_deref(), Some("2"));
        assert!(
            headers
                .keys()
                .all(|name| !name.as_str().starts_with("x-ratelimit"))
        );
    }
}
