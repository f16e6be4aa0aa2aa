//! The OpenAPI 3.1 document of the whole server, built from the handlers' `#[utoipa::path]`
//! annotations as they are registered ([`Routes`]), served at `/api/docs/openapi.json` with a
//! browsable page at `/api/docs`.

mod page;
mod routes;
pub mod schemas;

pub use routes::{Collected, Routes};

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use std::sync::OnceLock;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Response,
    ResponseBuilder, Server,
};

/// The name of the `X-API-KEY` security scheme.
const API_KEY_SCHEME: &str = "apiKey";

/// Every documented route and schema, gathered once per process.
pub fn collected() -> &'static Collected {
    static COLLECTED: OnceLock<Collected> = OnceLock::new();
    COLLECTED.get_or_init(|| {
        let mut collected = Collected::default();
        crate::routes::configure_api(&mut Routes::document(&mut collected, "/api"));
        crate::routes::configure_public(&mut Routes::document(&mut collected, ""));
        collected
    })
}

/// The document, serialised once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::to_string_pretty(&document()).unwrap_or_else(|err| {
            tracing::error!(%err, "the OpenAPI document does not serialise");
            "{}".to_owned()
        })
    })
}

/// Builds the document: the collected paths, each operation with the error envelope as its
/// `default` answer, the API key as an optional requirement on `/api` paths, and the errors of
/// the middleware (401, 429) and of the JSON body (400, 413) where they apply.
pub fn document() -> OpenApi {
    let collected = collected();
    let mut paths = collected.paths.clone();
    for (path, item) in paths.paths.iter_mut() {
        let on_api = path.starts_with("/api/");
        for method in ALL_METHODS {
            if let Some(operation) = operation_mut(item, &method) {
                describe_responses(operation);
                if on_api {
                    operation.security = Some(vec![
                        SecurityRequirement::default(),
                        SecurityRequirement::new::<_, _, &str>(API_KEY_SCHEME, []),
                    ]);
                }
                add_shared_errors(operation, on_api);
            }
        }
    }
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-KEY"))),
        )
        .build();
    components.schemas.extend(collected.schemas.clone());
    components.schemas.extend(schemas::shared());
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("eliza-rs")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The elizaOS 1.7.2 server API, as eliza-rs serves it. Error bodies follow \
                     the envelope families of the elizaOS server: see `ErrorBody`.",
                ))
                .build(),
        )
        .servers(Some(vec![Server::new("/")]))
        .paths(paths)
        .components(Some(components))
        .build()
}

/// The answers of the middleware and the body extractor, on the operations they apply to, and
/// the error envelope as every operation's `default` answer.
fn add_shared_errors(operation: &mut Operation, on_api: bool) {
    let keyed = operation.security.iter().flatten().any(|requirement| {
        *requirement == SecurityRequirement::new::<_, _, &str>(API_KEY_SCHEME, [])
    });
    let with_body = operation.request_body.is_some();
    let shared = [
        (
            with_body,
            "400",
            "Malformed JSON, or a Content-Type that is not JSON, multipart or urlencoded",
        ),
        (
            keyed,
            "401",
            "`ELIZA_SERVER_AUTH_TOKEN` is set and `X-API-KEY` is missing or wrong",
        ),
        (
            with_body,
            "413",
            "The body is larger than `EXPRESS_MAX_PAYLOAD` (2 MB by default)",
        ),
        (
            on_api,
            "429",
            "`RATE_LIMIT_EXCEEDED`: too many requests from this address",
        ),
        (
            true,
            "default",
            "An error, in the envelope of the route's family (API spec §1.2)",
        ),
    ];
    for (applies, status, description) in shared {
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error_response(description));
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// OpenAPI requires a description on every response: a response without one is described by
/// its status's reason phrase.
fn describe_responses(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason());
            response.description = reason.unwrap_or("Response").to_owned();
        }
    }
}

const ALL_METHODS: [HttpMethod; 8] = [
    HttpMethod::Get,
    HttpMethod::Put,
    HttpMethod::Post,
    HttpMethod::Delete,
    HttpMethod::Options,
    HttpMethod::Head,
    HttpMethod::Patch,
    HttpMethod::Trace,
];

fn operation_mut<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &HttpMethod,
) -> Option<&'a mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        HttpMethod::Options => item.options.as_mut(),
        HttpMethod::Head => item.head.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        HttpMethod::Trace => item.trace.as_mut(),
    }
}

#[utoipa::path(
    get,
    path = "/api/docs/openapi.json",
    tag = "docs",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document_json())
}

#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "docs",
    responses((status = 200, description = "A page listing every route of the document", content_type = "text/html", body = String))
)]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(page::HTML)
}

/// `/api/docs` and `/api/docs/openapi.json`.
pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, openapi_json);
    crate::route!(routes, docs_page);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once() {
        let collected = collected();
        let mut seen = std::collections::HashSet::new();
        for (method, path) in &collected.routes {
            assert!(
                seen.insert((method.clone(), path.clone())),
                "{method} {path} is registered twice"
            );
        }
        assert!(collected.routes.len() > 10);
    }

    #[test]
    fn operation_ids_are_unique_and_responses_described() {
        let value: serde_json::Value = serde_json::from_str(document_json()).unwrap_or_default();
        let mut ids = std::collections::HashSet::new();
        let paths = value["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in &paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let id = operation["operationId"].as_str().unwrap_or_default();
                assert!(!id.is_empty(), "{method} {path} has no operationId");
                assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
                let responses = operation["responses"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                assert!(responses.contains_key("default"), "{method} {path}");
                for (status, response) in responses {
                    assert!(
                        response["description"]
                            .as_str()
                            .is_some_and(|d| !d.is_empty()),
                        "{method} {path} {status} has no description"
                    );
                }
            }
        }
        assert!(ids.len() > 100);
    }

    /// Registrations in `src/routes` that bypass [`Routes`] on purpose: (file, call, count).
    const BYPASSES: &[(&str, &str, usize)] = &[
        // `/api/agents/{agentId}/plugins/{tail:.*}`: any method, any depth (documented through
        // `external`).
        ("plugins.rs", ".route(", 1),
        // The guarded plugin catch-alls under `/api` and at app level.
        ("plugins.rs", ".service(", 2),
        ("plugins.rs", "web::scope(", 2),
    ];

    const REGISTRATIONS: [&str; 4] = [".route(", "web::resource(", "web::scope(", ".service("];

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn route_modules_register_through_routes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        assert!(files.len() > 5, "no route modules under {}", root.display());
        let mut found = std::collections::BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let name = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let code = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"));
            for line in code {
                for call in REGISTRATIONS {
                    let count = line.matches(call).count();
                    if count > 0 {
                        *found.entry((name.clone(), call)).or_insert(0) += count;
                    }
                }
            }
        }
        let allowed: std::collections::BTreeMap<_, _> = BYPASSES
            .iter()
            .map(|(file, call, count)| (((*file).to_owned(), *call), *count))
            .collect();
        assert_eq!(
            found, allowed,
            "route modules must register through `Routes` (crate::route!, add_wrapped, alias, \
             external); a deliberate bypass belongs in BYPASSES with its reason"
        );
    }

    #[test]
    fn the_document_has_no_dangling_schema_reference() {
        let json = document_json();
        let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        let schemas = value["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for reference in json.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(
                schemas.contains_key(name),
                "schema {name} is referenced but missing"
            );
        }
    }
}
