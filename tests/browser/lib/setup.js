// What the suite needs before a browser opens: a private copy of the binary under test and the
// unpacked @elizaos/client UI, fetched once into a cache under target/.

import { execFile } from "node:child_process";
import { access, copyFile, mkdir, rename } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SERVER_BIN } from "../../node-support/server.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** The repository's target/ directory: artifacts and caches go there. */
export const TARGET_DIR = path.resolve(here, "../../../target");

/** Where the UI is fetched once and reused by later runs. */
const UI_CACHE_DIR = path.join(TARGET_DIR, "ui-cache");
const UI_VERSION = "1.7.2";
/** `eliza-server --data-dir DIR ui fetch` unpacks the client's dist/ here. */
const UI_CACHED_DIST = path.join(UI_CACHE_DIR, "ui", `client-${UI_VERSION}`);
/** npm pack over the network plus verification: generous, but bounded. */
const UI_FETCH_TIMEOUT_MS = 150_000;

/** The copy the suite runs, so a rebuild of target/debug cannot swap the binary mid-run. */
const BIN_COPY = "/tmp/browser-bin/eliza-server";

async function exists(file) {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Copies the binary under test (`ELIZA_SERVER_BIN`, else the debug build) and returns the copy. */
export async function privateBinary() {
  if (!(await exists(SERVER_BIN))) {
    throw new Error(`no eliza-server binary at ${SERVER_BIN} (build it, or set ELIZA_SERVER_BIN)`);
  }
  await mkdir(path.dirname(BIN_COPY), { recursive: true });
  // Copy then rename: overwriting in place fails while an earlier run's copy is still executing.
  const partial = `${BIN_COPY}.${process.pid}`;
  await copyFile(SERVER_BIN, partial);
  await rename(partial, BIN_COPY);
  return BIN_COPY;
}

/**
 * The unpacked UI to serve: `ELIZA_UI_PATH` if the caller set one, else the cache, which
 * `eliza-server ui fetch` fills on the first run only.
 */
export async function uiDist(bin) {
  if (process.env.ELIZA_UI_PATH) return path.resolve(process.env.ELIZA_UI_PATH);
  if (await exists(path.join(UI_CACHED_DIST, "index.html"))) return UI_CACHED_DIST;
  try {
    // --data-dir before the subcommand: `ui fetch` itself does not take it.
    await run(bin, ["--data-dir", UI_CACHE_DIR, "ui", "fetch"], {
      timeout: UI_FETCH_TIMEOUT_MS,
      env: { ...process.env, NO_COLOR: "1" },
    });
  } catch (err) {
    throw new Error(`eliza-server ui fetch failed: ${err.message}\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
  if (!(await exists(path.join(UI_CACHED_DIST, "index.html")))) {
    throw new Error(`eliza-server ui fetch left no index.html in ${UI_CACHED_DIST}`);
  }
  return UI_CACHED_DIST;
}
