// Starts the eliza-server binary on a free port for the node test suites, and talks to its HTTP API.

import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The binary under test: `ELIZA_SERVER_BIN` (relative to the suite's directory), else the debug build. */
export const SERVER_BIN = path.resolve(
  process.cwd(),
  process.env.ELIZA_SERVER_BIN ?? path.join(here, "../../target/debug/eliza-server"),
);

/** The default message server of 1.7.2 (the web UI falls back to it). */
export const DEFAULT_SERVER = "00000000-0000-0000-0000-000000000000";

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;
const LISTENING = /eliza-server listening on http:\/\/(\S+):(\d+) \(started in \d+ ms\)/;

/** Variables of the caller's environment that would change what the server does. */
export const SCRUBBED = [
  "DATABASE_URL",
  "POSTGRES_URL",
  "SERVER_PORT",
  "SERVER_HOST",
  "ELIZA_DATA_DIR",
  "ELIZA_SERVER_AUTH_TOKEN",
  "SERVER_API_KEY",
  "CORS_ORIGIN",
  "RUST_LOG",
  "LOG_FORMAT",
  "SOCKETIO_PING_INTERVAL_MS",
  "SOCKETIO_PING_TIMEOUT_MS",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "ANTHROPIC_API_KEY",
  "OLLAMA_API_ENDPOINT",
  "OLLAMA_API_URL",
];

/**
 * Starts the server (with `env` added to a scrubbed environment) in a fresh data directory, with
 * no default agent and no UI download unless `env` says otherwise. `files` (name → text) are
 * written into its working directory first, e.g. a `.env` for the `/api/system/env/local` routes.
 * Resolves once it prints its listening line; `stop()` kills it and removes the directory. `bin`
 * overrides `SERVER_BIN`.
 */
export async function startServer({ env = {}, args: extraArgs = [], bin = SERVER_BIN, files = {} } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "eliza-node-tests-"));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const childEnv = { ...process.env };
  for (const name of SCRUBBED) delete childEnv[name];
  const defaults = { ELIZA_DEFAULT_AGENT: "false", ELIZA_UI_AUTO_FETCH: "false", LOG_LEVEL: "info", NO_COLOR: "1" };
  Object.assign(childEnv, defaults, env);
  const args = ["--host", "127.0.0.1", "--port", "0", "--data-dir", path.join(dir, "data"), ...extraArgs];
  // cwd is the temp dir, so no project `.env` is picked up.
  const child = spawn(bin, args, { cwd: dir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (output += chunk));
  child.stdout.setEncoding("utf8");

  const cleanup = () => rm(dir, { recursive: true, force: true });
  let port;
  try {
    port = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`eliza-server did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${bin}: ${err.message} (set ELIZA_SERVER_BIN)`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`eliza-server exited before listening (code ${code}, signal ${signal})`));
      });
      child.stdout.on("data", (chunk) => {
        output += chunk;
        const match = LISTENING.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[2]));
        }
      });
    });
  } catch (err) {
    child.kill("SIGKILL");
    await cleanup();
    err.message += `\n--- server output ---\n${output}`;
    throw err;
  }

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    dir,
    /** Everything the server printed so far. */
    output: () => output,
    /** Whether the binary runs echo agents (built with `--features echo-agents`). */
    echoAgents: () => output.includes("ELIZA_ECHO_AGENTS is on"),
    /** Sends `signal` (e.g. SIGSTOP, SIGCONT) to the process. */
    signal(signal) {
      child.kill(signal);
    },
    /** Kills the process without warning (a crashed node); removes its directory. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      await cleanup();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    },
  };
}

/** A JSON request with a bounded wait; resolves `{status, body}`. */
export async function api(server, method, route, body) {
  const response = await fetch(server.url + route, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, body: json, headers: response.headers };
}

