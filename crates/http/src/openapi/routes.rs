//! [`Routes`]: every route of the server is registered through it, from the handler's
//! `#[utoipa::path]`, so the served routes and the OpenAPI document cannot differ.

use actix_web::web::{self, ServiceConfig};
use actix_web::{FromRequest, Handler, Responder, Route};
use std::collections::BTreeMap;
use utoipa::__dev::SchemaReferences;
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::{RefOr, Schema};

/// Where a [`Routes`] puts what it is given: an actix `ServiceConfig`, the document, or both.
pub struct Routes<'a> {
    cfg: Option<&'a mut ServiceConfig>,
    doc: Option<&'a mut Collected>,
    /// The part of every documented path that the actix scope already adds (`/api`).
    mount: &'static str,
    /// While set (see [`Routes::with_prefix_alias`]), paths under `.0` are served again under `.1`.
    prefix_alias: Option<(&'static str, &'static str)>,
}

/// Paths and component schemas gathered while documenting.
#[derive(Default)]
pub struct Collected {
    pub paths: Paths,
    pub schemas: BTreeMap<String, RefOr<Schema>>,
    /// Every `(METHOD, path)` documented, in registration order (for tests and duplicate checks).
    pub routes: Vec<(String, String)>,
}

impl Collected {
    fn record(
        &mut self,
        path: &str,
        methods: Vec<HttpMethod>,
        operation: Operation,
        schemas_of: fn(&mut Vec<(String, RefOr<Schema>)>),
    ) {
        let mut schemas = Vec::new();
        schemas_of(&mut schemas);
        self.schemas.extend(schemas);
        let several = methods.len() > 1;
        for method in methods {
            let name = actix_method(&method).to_string();
            let mut operation = operation.clone();
            // One handler for several methods: each method's operation gets its own id.
            if several && let Some(id) = operation.operation_id.as_mut() {
                *id = format!("{id}_{}", name.to_ascii_lowercase());
            }
            self.routes.push((name, path.to_owned()));
            self.paths.add_path_operation(path, vec![method], operation);
        }
    }
}

impl<'a> Routes<'a> {
    /// Registers routes on `cfg`; documented paths start with `mount`, which the scope adds.
    pub fn serve(cfg: &'a mut ServiceConfig, mount: &'static str) -> Self {
        Routes {
            cfg: Some(cfg),
            doc: None,
            mount,
            prefix_alias: None,
        }
    }

    /// Only documents (building `/api/docs/openapi.json`).
    pub fn document(doc: &'a mut Collected, mount: &'static str) -> Self {
        Routes {
            cfg: None,
            doc: Some(doc),
            mount,
            prefix_alias: None,
        }
    }

    /// The route of `P`'s `#[utoipa::path]`, served by `handler`.
    pub fn add<P, F, Args>(&mut self, handler: F) -> &mut Self
    where
        P: utoipa::Path + SchemaReferences,
        F: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add_wrapped::<P, F, Args>(&P::path(), handler, |route| route)
    }

    /// The same operation at another path (an alias such as `/api/runtime/...` or a seed path).
    pub fn alias<P, F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        P: utoipa::Path + SchemaReferences,
        F: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add_wrapped::<P, F, Args>(path, handler, |route| route)
    }

    /// `P`'s operation at `path`, each actix route passed through `wrap` (route middleware).
    pub fn add_wrapped<P, F, Args>(
        &mut self,
        path: &str,
        handler: F,
        wrap: impl Fn(Route) -> Route,
    ) -> &mut Self
    where
        P: utoipa::Path + SchemaReferences,
        F: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let aliased = self
            .prefix_alias
            .and_then(|(from, to)| path.strip_prefix(from).map(|rest| format!("{to}{rest}")));
        for path in std::iter::once(path.to_owned()).chain(aliased) {
            self.register_one::<P, F, Args>(&path, handler.clone(), &wrap);
        }
        self
    }

    /// Serves every route registered inside `register` under `from` again under `to`
    /// (`/api/server/...` and `/api/runtime/...`), documented as deprecated aliases.
    pub fn with_prefix_alias(
        &mut self,
        from: &'static str,
        to: &'static str,
        register: impl FnOnce(&mut Self),
    ) -> &mut Self {
        let previous = self.prefix_alias.replace((from, to));
        register(self);
        self.prefix_alias = previous;
        self
    }

    fn register_one<P, F, Args>(&mut self, path: &str, handler: F, wrap: &impl Fn(Route) -> Route)
    where
        P: utoipa::Path + SchemaReferences,
        F: Handler<Args> + Clone,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let methods = P::methods();
        if let Some(cfg) = self.cfg.as_deref_mut() {
            let local = path.strip_prefix(self.mount).unwrap_or(path);
            for method in &methods {
                let route = web::route()
                    .method(actix_method(method))
                    .to(handler.clone());
                cfg.route(local, wrap(route));
            }
        }
        if let Some(doc) = self.doc.as_deref_mut() {
            let mut operation = P::operation();
            if path != P::path() {
                mark_alias(&mut operation, path);
            }
            doc.record(path, methods, operation, P::schemas);
        }
    }

    /// Documents a route served by something else (the Socket.IO endpoint, the web UI files).
    pub fn external<P>(&mut self) -> &mut Self
    where
        P: utoipa::Path + SchemaReferences,
    {
        if let Some(doc) = self.doc.as_deref_mut() {
            doc.record(&P::path(), P::methods(), P::operation(), P::schemas);
        }
        self
    }

    /// The actix config, for services the registrar does not build (scopes with middleware).
    pub fn actix(&mut self) -> Option<&mut ServiceConfig> {
        self.cfg.as_deref_mut()
    }
}

/// An alias gets its own operation id, so that each operation of the document stays unique.
fn mark_alias(operation: &mut Operation, path: &str) {
    let suffix: String = path
        .split('/')
        .filter(|segment| !segment.is_empty() && !segment.starts_with('{'))
        .collect::<Vec<_>>()
        .join("_");
    if let Some(id) = operation.operation_id.as_mut() {
        *id = format!("{id}__{suffix}");
    }
    operation.deprecated = Some(utoipa::openapi::Deprecated::True);
}

fn actix_method(method: &HttpMethod) -> actix_web::http::Method {
    use actix_web::http::Method;
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Registers `handler` for `P` on a [`Routes`]: `route!(routes, ping)` is
/// `routes.add::<__path_ping, _, _>(ping)`.
#[macro_export]
macro_rules! route {
    ($routes:expr, $handler:ident) => {
        ::pastey::paste! { $routes.add::<[<__path_ $handler>], _, _>($handler) }
    };
    ($routes:expr, $handler:ident, alias = $path:expr) => {
        ::pastey::paste! { $routes.alias::<[<__path_ $handler>], _, _>($path, $handler) }
    };
}
