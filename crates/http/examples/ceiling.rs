//! The framework ceiling for `bench/compare`: a bare actix-web server with one handler answering
//! a constant JSON body, with actix's defaults (one worker per core) and `eliza-server`'s TCP_NODELAY. What
//! `GET /api/server/ping` reaches is quoted as a fraction of what this does on the same machine.
//!
//! Usage: `ceiling [PORT]` (default 39400); binds 127.0.0.1 and prints one line once listening.

use actix_web::{App, HttpResponse, HttpServer, web};

const BODY: &str = r#"{"pong":true,"timestamp":1764000000000}"#;

async fn constant_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(mime::APPLICATION_JSON)
        .body(BODY)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = match std::env::args().nth(1) {
        Some(text) => text.parse::<u16>().map_err(std::io::Error::other)?,
        None => 39400,
    };
    // TCP_NODELAY as `eliza-server` sets it, so both are measured with the same socket options.
    let server = HttpServer::new(|| App::new().route("/ping", web::get().to(constant_json)))
        .tcp_nodelay(true)
        .bind(("127.0.0.1", port))?;
    println!("ceiling listening on http://127.0.0.1:{port}");
    server.run().await
}
