//! `/api/system` (API spec §2.7): version, config and the local `.env` editor, plus seed 001's
//! `/system/status` and `/system/environment` (an alias of `/system/env/local`).

use super::health::iso_now;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::HttpResponse;
use actix_web::error::BlockingError;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use utoipa::ToSchema;
use uuid::Uuid;

/// The elizaOS version reported to clients, which compare it (the UI shows it too).
const COMPATIBLE_VERSION: &str = "1.7.2";
const INVALID_CONTENT: &str = r#"Missing or invalid "content" in request body"#;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, version);
    crate::route!(routes, config);
    crate::route!(routes, status);
    routes.with_prefix_alias(
        "/api/system/env/local",
        "/api/system/environment",
        |routes| {
            crate::route!(routes, get_env);
            crate::route!(routes, update_env);
        },
    );
}

#[derive(ToSchema)]
pub struct Version {
    /// The elizaOS version this server is compatible with.
    pub version: String,
    pub source: String,
    /// ISO-8601.
    pub timestamp: String,
    pub environment: String,
    /// Seconds.
    pub uptime: f64,
    /// `eliza-rs <version>`.
    pub server: String,
}

/// Which model provider serves each model type of a running agent.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ModelProviders {
    pub agent_id: Uuid,
    pub name: String,
    /// `{TEXT_LARGE: "local", …}`.
    pub models: BTreeMap<String, String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SystemConfig {
    /// Whether data isolation is on.
    pub requires_auth: bool,
    pub model_providers: Vec<ModelProviders>,
}

#[derive(ToSchema)]
pub struct MemoryUse {
    /// Bytes.
    pub used: u64,
    pub total: u64,
}

#[derive(ToSchema)]
pub struct AgentCounts {
    pub active: u64,
    pub total: u64,
}

#[derive(ToSchema)]
pub struct SystemStatus {
    pub status: String,
    /// Seconds.
    pub uptime: f64,
    pub memory: MemoryUse,
    pub agents: AgentCounts,
}

/// `{content: {KEY: value}}` (1.7.2), `{variables: {…}}`, or the record itself; values are
/// strings, numbers or booleans.
#[derive(ToSchema)]
pub struct EnvUpdateBody {
    pub content: Option<BTreeMap<String, Value>>,
    pub variables: Option<BTreeMap<String, Value>>,
}

#[derive(ToSchema)]
pub struct EnvUpdated {
    pub success: bool,
    pub message: String,
}

#[utoipa::path(get, path = "/api/system/version", tag = "system", summary = "Version and uptime",
    responses((status = 200, body = Version)))]
async fn version(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "version": COMPATIBLE_VERSION,
        "source": "server",
        "timestamp": iso_now(),
        "environment": "development",
        "uptime": state.started.elapsed().as_secs_f64(),
        "server": concat!("eliza-rs ", env!("CARGO_PKG_VERSION")),
    }))
}

/// 1.7.2's `requiresAuth`, and (ours) which model provider serves each running agent:
/// `modelProviders: [{agentId, name, models: {TEXT_LARGE: "local", …}}]`.
#[utoipa::path(get, path = "/api/system/config", tag = "system", summary = "Server configuration",
    responses((status = 200, body = Success<SystemConfig>)))]
async fn config(state: web::Data<AppState>) -> HttpResponse {
    let providers: Vec<Value> = state
        .runtimes
        .as_ref()
        .map(|registry| registry.runtimes())
        .unwrap_or_default()
        .iter()
        .map(|runtime| {
            let models: Map<String, Value> = runtime
                .model_providers()
                .into_iter()
                .map(|(model_type, name)| (model_type.as_str().to_owned(), json!(name)))
                .collect();
            json!({"agentId": runtime.id, "name": runtime.character().name, "models": models})
        })
        .collect();
    ok(json!({
        "requiresAuth": state.config.data_isolation,
        "modelProviders": providers,
    }))
}

/// Seed 001's status: uptime, process memory and agent counts.
#[utoipa::path(get, path = "/api/system/status", tag = "system", summary = "Uptime, memory and agent counts (seed 001)", operation_id = "system_status",
    responses((status = 200, body = Success<SystemStatus>)))]
async fn status(state: web::Data<AppState>) -> ApiResult {
    let vitals = Vitals::read(&state).await?;
    Ok(ok(json!({
        "status": "healthy",
        "uptime": vitals.uptime,
        "memory": {"used": vitals.memory_used, "total": vitals.memory_total},
        "agents": {"active": vitals.active_agents, "total": vitals.total_agents},
    })))
}

/// Uptime, agent counts and memory use: what `/api/system/status` and `/api/server/status`
/// report.
pub(crate) struct Vitals {
    /// Seconds since the server started.
    pub uptime: f64,
    pub total_agents: usize,
    pub active_agents: usize,
    /// Resident set size of this process, bytes.
    pub memory_used: u64,
    /// Physical memory of the machine, bytes.
    pub memory_total: u64,
}

impl Vitals {
    pub(crate) async fn read(state: &AppState) -> Result<Vitals, ApiError> {
        let stored = state.store.list_agents().await.map_err(|err| {
            ApiError::from_store(err, "STATUS_ERROR", "Failed to retrieve system status")
        })?;
        let active_agents = state.agents.running().len();
        let (memory_used, memory_total) = memory::usage().await;
        Ok(Vitals {
            uptime: state.started.elapsed().as_secs_f64(),
            // An agent may run while its row is being deleted.
            total_agents: stored.len().max(active_agents),
            active_agents,
            memory_used,
            memory_total,
        })
    }
}

/// Serialises `.env` writes within the process (read-modify-write).
static ENV_WRITE: Mutex<()> = Mutex::new(());

#[utoipa::path(get, path = "/api/system/env/local", tag = "system", summary = "The variables of the nearest `.env`",
    responses((status = 200, description = "`{}` when there is no `.env`", body = Success<BTreeMap<String, String>>)))]
async fn get_env(state: web::Data<AppState>) -> ApiResult {
    let dir = state.config.env_dir.clone();
    let vars = blocking(web::block(move || env_file::read_nearest(&dir)).await)
        .map_err(|details| env_error("FETCH_ERROR", "Failed to retrieve local envs", &details))?;
    Ok(ok(vars))
}

/// Merges the posted variables into the nearest `.env`, creating one in `env_dir` if none exists.
#[utoipa::path(post, path = "/api/system/env/local", tag = "system", summary = "Set variables in the nearest `.env`",
    description = "Replaces each variable's assignment in place and appends new ones; without a `.env`, one is created in the server's directory.",
    request_body = EnvUpdateBody,
    responses((status = 200, body = EnvUpdated), (status = 400, description = "`INVALID_INPUT`", body = ErrorBody)))]
async fn update_env(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let updates = env_updates(&body.0)?;
    let dir = state.config.env_dir.clone();
    let written = web::block(move || {
        let _guard = ENV_WRITE.lock().unwrap_or_else(PoisonError::into_inner);
        env_file::update_nearest(&dir, &updates)
    })
    .await;
    let path = blocking(written)
        .map_err(|details| env_error("UPDATE_ERROR", "Failed to update local envs", &details))?;
    tracing::info!(path = %path.display(), "local .env updated");
    // 1.7.2 sends no `data`; the api-client returns `data`, typed `{success, message}`.
    let message = "Local env updated";
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": message,
        "data": {"success": true, "message": message},
    })))
}

/// Flattens the result of file I/O run on the blocking pool into the error text to report.
fn blocking<T>(result: Result<io::Result<T>, BlockingError>) -> Result<T, String> {
    result
        .map_err(|err| err.to_string())?
        .map_err(|err| err.to_string())
}

fn env_error(code: &str, message: &str, details: &str) -> ApiError {
    tracing::warn!(code, details, "{message}");
    ApiError::coded(StatusCode::INTERNAL_SERVER_ERROR, code, message).with_details(details)
}

fn invalid_input(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_INPUT", message)
}

/// The variables of a POST body: `{content:{…}}` (1.7.2), `{variables:{…}}` or a bare record.
/// Values may be strings, numbers or booleans; keys must be valid `.env` keys.
fn env_updates(body: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let object = body
        .as_object()
        .ok_or_else(|| invalid_input(INVALID_CONTENT))?;
    let record = match (object.get("content"), object.get("variables")) {
        (Some(content), _) => content.as_object(),
        (None, Some(variables)) => variables.as_object(),
        (None, None) => Some(object),
    };
    let record = record
        .filter(|r| !r.is_empty())
        .ok_or_else(|| invalid_input(INVALID_CONTENT))?;
    record
        .iter()
        .map(|(key, value)| env_update(key, value))
        .collect()
}

fn env_update(key: &str, value: &Value) -> Result<(String, String), ApiError> {
    if !env_file::is_valid_key(key) {
        return Err(invalid_input(format!("Invalid variable name {key:?}")));
    }
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => {
            return Err(invalid_input(format!(
                "Invalid value for {key:?}: expected a string, number or boolean"
            )));
        }
    };
    if !env_file::is_writable_value(&text) {
        return Err(invalid_input(format!(
            "Invalid value for {key:?}: control characters other than newline and tab"
        )));
    }
    Ok((key.to_owned(), text))
}

/// Process and machine memory from `/proc` (0 where unavailable).
pub(crate) mod memory {
    fn kib_field(path: &str, field: &str) -> u64 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib.saturating_mul(1024))
    }

    /// Resident set size of this process in bytes.
    pub fn resident_bytes() -> u64 {
        kib_field("/proc/self/status", "VmRSS:")
    }

    /// Physical memory of the machine in bytes.
    pub fn total_bytes() -> u64 {
        kib_field("/proc/meminfo", "MemTotal:")
    }

    /// `(resident, total)` bytes, read off the executor (`/proc` is a file read).
    pub async fn usage() -> (u64, u64) {
        actix_web::web::block(|| (resident_bytes(), total_bytes()))
            .await
            .unwrap_or((0, 0))
    }
}

/// Reading and merging `.env` files. The parser follows dotenvy (which the binary loads `.env`
/// with) without its `$VAR` substitution, so GET shows what is written, and it keeps line
/// positions so a write replaces assignments in place and leaves every other line untouched.
mod env_file {
    use super::*;
    use std::ops::Range;

    /// One `KEY=value` assignment and the lines it spans.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Assignment {
        pub key: String,
        pub value: String,
        pub lines: Range<usize>,
        pub exported: bool,
    }

    /// dotenvy's key syntax (node's dotenv also allows `-`, which shells do not).
    pub fn is_valid_key(key: &str) -> bool {
        let mut chars = key.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    }

    /// Values are written on (possibly several) lines: no control characters but newline and tab.
    pub fn is_writable_value(value: &str) -> bool {
        !value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    }

    /// The nearest `.env`, walking up from `dir`.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        start
            .ancestors()
            .map(|d| d.join(".env"))
            .find(|path| path.is_file())
    }

    /// The variables of the nearest `.env` (first assignment of a key wins, as when loading);
    /// empty when there is none.
    pub fn read_nearest(dir: &Path) -> io::Result<Map<String, Value>> {
        let Some(path) = find(dir) else {
            return Ok(Map::new());
        };
        let text = std::fs::read_to_string(path)?;
        let mut vars = Map::new();
        for assignment in parse(&text) {
            vars.entry(assignment.key)
                .or_insert(Value::String(assignment.value));
        }
        Ok(vars)
    }

    /// Merges `updates` into the nearest `.env` (or a new `dir/.env`); returns the file written.
    /// A symlinked `.env` is followed, so the link survives the atomic rename.
    pub fn update_nearest(dir: &Path, updates: &[(String, String)]) -> io::Result<PathBuf> {
        let path = match find(dir) {
            Some(found) => found.canonicalize()?,
            None => dir.join(".env"),
        };
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(err),
        };
        write_atomically(&path, &merge(&existing, updates))?;
        Ok(path)
    }

    /// Writes through a temporary file in the same directory, keeping the original permissions,
    /// so a crash never leaves a half-written `.env`.
    fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let tmp = dir.join(format!(".env.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text)?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Every assignment of the file in order; lines that do not parse are skipped (and kept by
    /// [`merge`]).
    pub fn parse(text: &str) -> Vec<Assignment> {
        let lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let mut assignments = Vec::new();
        let mut index = 0;
        while index < lines.len() {
            match parse_assignment(&lines, index) {
                Some(assignment) => {
                    index = assignment.lines.end;
                    assignments.push(assignment);
                }
                None => index += 1,
            }
        }
        assignments
    }

    fn parse_assignment(lines: &[&str], start: usize) -> Option<Assignment> {
        let line = lines[start].trim_start();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (exported, rest) = match line.strip_prefix("export") {
            Some(rest) if rest.starts_with([' ', '\t']) => (true, rest.trim_start()),
            _ => (false, line),
        };
        let key_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let key = &rest[..key_len];
        if !is_valid_key(key) {
            return None;
        }
        let raw = rest[key_len..].trim_start().strip_prefix('=')?.trim_start();
        let (value, end) = parse_value(raw, lines, start)?;
        Some(Assignment {
            key: key.to_owned(),
            value,
            lines: start..end,
            exported,
        })
    }

    /// The value starting at `raw` (the rest of line `start`) and the line after it ends.
    fn parse_value(raw: &str, lines: &[&str], start: usize) -> Option<(String, usize)> {
        match raw.chars().next() {
            Some(quote @ ('\'' | '"' | '`')) => parse_quoted(&raw[1..], quote, lines, start),
            _ => Some((unquoted(raw), start + 1)),
        }
    }

    /// An unquoted value ends at ` #` (a comment) and is trimmed.
    fn unquoted(raw: &str) -> String {
        let end = raw
            .char_indices()
            .find(|&(i, c)| c == '#' && i > 0 && raw[..i].ends_with([' ', '\t']))
            .map(|(i, _)| i);
        raw[..end.unwrap_or(raw.len())].trim().to_owned()
    }

    /// A quoted value, possibly spanning lines. Double quotes understand `\n \t \\ \" \' \$`; an
    /// unknown escape is kept as written. An unterminated quote makes the line unparsable.
    fn parse_quoted(
        first: &str,
        quote: char,
        lines: &[&str],
        start: usize,
    ) -> Option<(String, usize)> {
        let mut value = String::new();
        let mut escaped = false;
        let mut line_index = start;
        let mut text = first;
        loop {
            for c in text.chars() {
                if escaped {
                    escaped = false;
                    match c {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        '\\' | '"' | '\'' | '$' => value.push(c),
                        other => {
                            value.push('\\');
                            value.push(other);
                        }
                    }
                } else if c == '\\' && quote == '"' {
                    escaped = true;
                } else if c == quote {
                    return Some((value, line_index + 1));
                } else {
                    value.push(c);
                }
            }
            line_index += 1;
            text = lines.get(line_index).copied()?;
            value.push('\n');
        }
    }

    /// How a value is written: bare when it is plainly safe, single-quoted (literal) when it has
    /// no `'` or newline, otherwise double-quoted with escapes.
    pub fn render_value(value: &str) -> String {
        let bare = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@,+=%~".contains(c));
        if bare {
            return value.to_owned();
        }
        if !value.contains(['\'', '\n']) {
            return format!("'{value}'");
        }
        let mut out = String::with_capacity(value.len() + 2);
        out.push('"');
        for c in value.chars() {
            match c {
                '\\' | '"' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                '\n' => out.push_str("\\n"),
                _ => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// The file with each updated key's first assignment replaced in place (keeping `export`),
    /// its later duplicates dropped, new keys appended, and a trailing newline.
    pub fn merge(existing: &str, updates: &[(String, String)]) -> String {
        let newline = if existing.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let lines: Vec<&str> = existing
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let lines = if existing.is_empty() || existing.ends_with('\n') {
            &lines[..lines.len() - 1]
        } else {
            &lines[..]
        };
        let value_of = |key: &str| {
            updates
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };

        let mut replaced: Vec<&str> = Vec::new();
        let mut output: Vec<String> = Vec::with_capacity(lines.len() + updates.len());
        let mut next_line = 0;
        for assignment in parse(&lines.join("\n")) {
            let Some(value) = value_of(&assignment.key) else {
                continue;
            };
            output.extend(
                lines[next_line..assignment.lines.start]
                    .iter()
                    .map(|l| (*l).to_owned()),
            );
            next_line = assignment.lines.end;
            if !replaced.contains(&assignment.key.as_str()) {
                let export = if assignment.exported { "export " } else { "" };
                output.push(format!(
                    "{export}{}={}",
                    assignment.key,
                    render_value(value)
                ));
                if let Some((key, _)) = updates.iter().find(|(k, _)| *k == assignment.key) {
                    replaced.push(key);
                }
            }
        }
        output.extend(lines[next_line..].iter().map(|l| (*l).to_owned()));
        for (key, value) in updates {
            if !replaced.contains(&key.as_str()) {
                output.push(format!(
                    "{key}={}",
                    render_value(value_of(key).unwrap_or(value))
                ));
                replaced.push(key);
            }
        }
        let mut text = output.join(newline);
        text.push_str(newline);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::env_file::{merge, parse, render_value};
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).into_iter().map(|a| (a.key, a.value)).collect()
    }

    fn kv(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn parses_dotenv_syntax() {
        let text = "# comment\n\nA=1\nexport B = two words # note\nC='single $x # kept'\nD=\"line\\nnext \\\"q\\\" \\$HOME\"\n\
                    E=\"multi\nline\"\nnot a line\n1BAD=x\nF=a#b\nG=\nH='unterminated\n";
        assert_eq!(
            pairs(text),
            vec![
                kv("A", "1"),
                kv("B", "two words"),
                kv("C", "single $x # kept"),
                kv("D", "line\nnext \"q\" $HOME"),
                kv("E", "multi\nline"),
                kv("F", "a#b"),
                kv("G", ""),
            ]
        );
        assert_eq!(
            pairs("WIN=1\r\nX=\"y\"\r\n"),
            vec![kv("WIN", "1"), kv("X", "y")]
        );
    }

    #[test]
    fn rendered_values_parse_back_unchanged() {
        for value in [
            "plain",
            "",
            "with space",
            "it's",
            "say \"hi\"",
            "a\nb",
            "$HOME",
            "back\\slash 'q'\n",
            "#hash",
            "tab\there",
        ] {
            let text = format!("K={}\n", render_value(value));
            assert_eq!(pairs(&text), vec![kv("K", value)], "{text}");
        }
        assert_eq!(render_value("sk-abc_123"), "sk-abc_123");
        assert_eq!(render_value("two words"), "'two words'");
    }

    #[test]
    fn merge_replaces_in_place_and_keeps_everything_else() {
        let existing = "# keys\nexport OPENAI_API_KEY=old # note\n\nLOG_LEVEL=info\nMULTI=\"a\nb\"\nOPENAI_API_KEY=dup\n# end";
        let merged = merge(
            existing,
            &[
                kv("OPENAI_API_KEY", "sk new"),
                kv("MULTI", "one"),
                kv("NEW", "x"),
            ],
        );
        assert_eq!(
            merged,
            "# keys\nexport OPENAI_API_KEY='sk new'\n\nLOG_LEVEL=info\nMULTI=one\n# end\nNEW=x\n"
        );
        assert_eq!(merge("", &[kv("A", "1")]), "A=1\n");
        assert_eq!(merge("A=1\r\nB=2\r\n", &[kv("B", "3")]), "A=1\r\nB=3\r\n");
        assert_eq!(
            merge("A=1\n", &[kv("A", "1"), kv("A", "2")]),
            "A=2\n",
            "the last update of a key wins"
        );
        assert_eq!(merge("", &[kv("A", "1"), kv("A", "2")]), "A=2\n");
    }

    #[test]
    fn post_bodies_in_every_accepted_shape() {
        let expected = vec![kv("A", "1"), kv("B", "true")];
        assert_eq!(
            env_updates(&json!({"content": {"A": "1", "B": true}})).unwrap(),
            expected
        );
        assert_eq!(
            env_updates(&json!({"variables": {"A": 1, "B": true}})).unwrap(),
            expected
        );
        assert_eq!(
            env_updates(&json!({"A": "1", "B": true})).unwrap(),
            expected
        );
        for bad in [
            json!({}),
            json!({"content": "A=1"}),
            json!({"content": {}}),
            json!([1]),
            json!("x"),
            json!({"variables": null}),
        ] {
            let err = env_updates(&bad).unwrap_err();
            assert_eq!(
                (err.code.as_str(), err.message.as_str()),
                ("INVALID_INPUT", INVALID_CONTENT),
                "{bad}"
            );
        }
        for bad in [
            json!({"content": {"BAD KEY": "x"}}),
            json!({"content": {"A": {"x": 1}}}),
            json!({"content": {"A": "a\u{0}b"}}),
        ] {
            assert_eq!(
                env_updates(&bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_and_updates_the_nearest_file() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let path = env_file::update_nearest(&nested, &[kv("X", "1")]).unwrap();
        assert_eq!(
            path,
            nested.join(".env"),
            "without a .env one is created in env_dir"
        );
        std::fs::remove_file(&path).unwrap();

        std::fs::write(root.path().join(".env"), "# top\nX=0\n").unwrap();
        let path =
            env_file::update_nearest(&nested, &[kv("X", "1"), kv("Y", "two words")]).unwrap();
        assert_eq!(
            path.canonicalize().unwrap(),
            root.path().join(".env").canonicalize().unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# top\nX=1\nY='two words'\n"
        );
        let vars = env_file::read_nearest(&nested).unwrap();
        assert_eq!(Value::Object(vars), json!({"X": "1", "Y": "two words"}));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_env_file_stays_a_symlink() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("shared.env");
        std::fs::write(&target, "A=1\n").unwrap();
        std::os::unix::fs::symlink(&target, root.path().join(".env")).unwrap();
        env_file::update_nearest(root.path(), &[kv("A", "2")]).unwrap();
        assert!(
            std::fs::symlink_metadata(root.path().join(".env"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "A=2\n");
    }
}
