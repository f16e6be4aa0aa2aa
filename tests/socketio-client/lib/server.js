// Starts the eliza-server binary on a free port, in echo-agent mode, and talks to its HTTP API.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The binary under test: `ELIZA_SERVER_BIN`, else the debug build of this workspace. */
export const SERVER_BIN = path.resolve(
  path.join(here, ".."),
  process.env.ELIZA_SERVER_BIN ?? "../../target/debug/eliza-server",
);

/** The default message server of 1.7.2 (the web UI falls back to it). */
export const DEFAULT_SERVER = "00000000-0000-0000-0000-000000000000";

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const HTTP_TIMEOUT_MS = 5_000;
const LISTENING = /eliza-server listening on http:\/\/(\S+):(\d+) \(started in \d+ ms\)/;

/** Variables of the caller's environment that would change what the server does. */
const SCRUBBED = [
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
];

/**
 * Starts the server with `ELIZA_ECHO_AGENTS=1` (plus `env`) in a fresh data directory.
 * Resolves once it prints its listening line; `stop()` kills it and removes the directory.
 */
export async function startServer({ env = {} } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "eliza-socketio-"));
  const childEnv = { ...process.env };
  for (const name of SCRUBBED) delete childEnv[name];
  Object.assign(childEnv, { ELIZA_ECHO_AGENTS: "1", ELIZA_UI_AUTO_FETCH: "false", LOG_LEVEL: "info", NO_COLOR: "1" }, env);
  const args = ["--host", "127.0.0.1", "--port", "0", "--data-dir", path.join(dir, "data")];
  // cwd is the temp dir, so no project `.env` is picked up.
  const child = spawn(SERVER_BIN, args, { cwd: dir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
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
        reject(new Error(`cannot run ${SERVER_BIN}: ${err.message} (set ELIZA_SERVER_BIN)`));
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
  return { status: response.status, body: json };
}

async function expectStatus(server, method, route, body, status) {
  const reply = await api(server, method, route, body);
  if (reply.status !== status) {
    throw new Error(`${method} ${route}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

/** Creates and starts an agent; in echo mode it answers every message with `echo: <text>`. */
export async function createEchoAgent(server, name = "Echo") {
  const created = await expectStatus(server, "POST", "/api/agents", { agent: { name, bio: ["b"] } }, 201);
  const id = created.data.id;
  await expectStatus(server, "POST", `/api/agents/${id}/start`, {}, 200);
  return id;
}

/** A DM channel between `me` and `agent`, created the way the web UI does. */
export async function createDmChannel(server, me, agent) {
  const created = await expectStatus(
    server,
    "POST",
    "/api/messaging/channels",
    {
      name: `Chat - ${new Date().toISOString()}`,
      message_server_id: DEFAULT_SERVER,
      participantCentralUserIds: [me, agent],
      type: "DM",
      metadata: { isDm: true, user1: me, user2: agent, forAgent: agent },
    },
    201,
  );
  return created.data.id;
}

/** A fresh user id, as the web UI keeps in localStorage. */
export const userId = () => randomUUID();
