//! The one app builder used by the binary and by every test.

use crate::middleware::{
    cors, head_as_get, not_found, require_api_key, require_known_content_type, security_headers,
};
use crate::openapi::Routes;
use crate::state::AppState;
use crate::{metrics, rate_limit, routes};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::QueryPayloadError;
use actix_web::http::StatusCode;
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, Error, HttpRequest, web};
use tracing_actix_web::TracingLogger;

/// Builds the elizaOS 1.7.2 application: `/api/*` (auth, rate limit, Content-Type check), the public
/// health routes and `/metrics`, and the cross-cutting middleware, outermost last.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let json_limit = state.config.max_json_bytes;
    let socket_io = state.socket_io.clone();
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(json_limit))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .service(
            web::scope("/api")
                .wrap(from_fn(crate::forward::to_owner))
                .wrap(from_fn(require_known_content_type))
                .wrap(from_fn(require_api_key))
                .wrap(from_fn(rate_limit::limit_api))
                .configure(|cfg| routes::configure_api(&mut Routes::serve(cfg, "/api")))
                .default_service(web::to(not_found)),
        )
        .configure(|cfg| socket_io.configure(cfg))
        .configure(|cfg| routes::configure_public(&mut Routes::serve(cfg, "")))
        .default_service(web::to(crate::ui::fallback))
        .wrap(from_fn(security_headers))
        .wrap(from_fn(cors))
        .wrap(from_fn(metrics::track))
        .wrap(from_fn(head_as_get))
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(TracingLogger::default())
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> Error {
    crate::error::ApiError::global(
        StatusCode::BAD_REQUEST,
        format!("Invalid query string: {err}"),
    )
    .into()
}
