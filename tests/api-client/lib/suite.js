// One test file's server, client and fixtures: opened before its tests, closed after them.

import { after, before } from "node:test";
import { recordingClient } from "./recording.js";
import { openTarget } from "./target.js";

/** How long opening the target and making a file's fixtures may take. */
const SETUP_TIMEOUT_MS = 60_000;

/**
 * Registers the file's `before`/`after` hooks and returns its state: `target` (`{url, kind, …}`),
 * `client` (the recorded api-client) and whatever `makeFixtures(target)` resolved, merged in.
 * A fixture failure carries the server's log when this file started the server.
 */
export function useSuite(makeFixtures = async () => ({})) {
  const state = {};
  before(
    async () => {
      state.target = await openTarget();
      state.client = recordingClient(state.target.url);
      try {
        Object.assign(state, await makeFixtures(state.target));
      } catch (err) {
        const output = state.target.output();
        if (output) err.message += `\n--- server output (last 4000 chars) ---\n${output.slice(-4000)}`;
        throw err;
      }
    },
    { timeout: SETUP_TIMEOUT_MS },
  );
  after(async () => {
    await state.target?.stop();
  });
  return state;
}
