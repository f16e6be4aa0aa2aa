// The server under test: our binary started per test file with the fake model (normal mode, CI), or
// any server already running at ELIZA_TARGET_URL (differential mode: the 1.7.2 reference or ours).

import { startFakeOpenAi } from "../../node-support/fake-openai.js";
import { startServer } from "../../node-support/server.js";

/** A running server to test instead of starting one, e.g. `http://127.0.0.1:3300`. */
export const TARGET_URL = process.env.ELIZA_TARGET_URL?.replace(/\/$/, "");

/** Names the results file: `reference`, `ours`, … (`ours` when this suite starts the server). */
export const TARGET_KIND = process.env.ELIZA_TARGET_KIND ?? (TARGET_URL ? "remote" : "ours");

/** Whether `server.stopServer` may stop a running target (differential mode runs it last). */
export const MAY_STOP_TARGET = process.env.ELIZA_TARGET_ALLOW_STOP === "1";

/** The `.env` our server is started with, so the `/api/system/env/local` routes have a file to edit. */
export const DOT_ENV = "API_CLIENT_CONFORMANCE=1\n";

/**
 * Starts our server with the fake model: `{url, output(), stop()}`. Exported for the differential
 * launcher, which keeps one running for the whole run.
 */
export async function startOurs() {
  const fake = await startFakeOpenAi();
  try {
    const server = await startServer({ env: fake.env, files: { ".env": DOT_ENV } });
    return {
      url: server.url,
      output: server.output,
      async stop() {
        await server.stop();
        await fake.stop();
      },
    };
  } catch (err) {
    await fake.stop();
    throw err;
  }
}

/**
 * The server for one test file: the running target, or a fresh server of ours. `own` says whether
 * this file started it (and so may stop it); `output()` is its log when we have it.
 */
export async function openTarget() {
  if (TARGET_URL) return { url: TARGET_URL, kind: TARGET_KIND, own: false, output: () => "", stop: async () => {} };
  const server = await startOurs();
  return { ...server, kind: TARGET_KIND, own: true };
}
