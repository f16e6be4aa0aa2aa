//! The HTTP API end to end: the real app (`eliza_http::app`) over the real diesel store, one module
//! per resource, one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents;
mod cross_cutting;
mod limits;
mod server;
mod support;
mod system;
