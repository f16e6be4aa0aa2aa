// api-client `server.stopServer` (API spec §2.6): it stops the server, so it runs against a server
// of its own; a running target is only stopped when the differential run allows it (last).

import assert from "node:assert/strict";
import { eventually } from "./lib/fixtures.js";
import { methodTest } from "./lib/recording.js";
import { assertObject } from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";
import { MAY_STOP_TARGET, TARGET_URL } from "./lib/target.js";

const STOP_TIMEOUT_MS = 10_000;

const suite = useSuite();

/** Whether the server still answers a ping (a refused or reset connection means it stopped). */
async function answers(url) {
  try {
    await fetch(`${url}/api/server/ping`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

methodTest(
  "server.stopServer",
  "acknowledges with 1.7.2's {message}, then the server stops listening",
  async () => {
    const reply = await suite.client.server.stopServer();
    await eventually("the server to stop listening", async () => !(await answers(suite.target.url)), STOP_TIMEOUT_MS);
    // Typed `{success: boolean}`; 1.7.2 answers `{message: "Server stopping..."}` with no `success`
    // key (spec §2.6), which the client returns as is. A drop-in keeps 1.7.2's answer.
    assertObject(reply, "reply");
    assert.equal(reply.message, "Server stopping...", "reply.message");
  },
  { skip: TARGET_URL && !MAY_STOP_TARGET ? "a running target is stopped only with ELIZA_TARGET_ALLOW_STOP=1" : false },
);
