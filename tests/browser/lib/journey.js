// A user journey as numbered node:test steps that share one page. Each step is bounded, leaves a
// screenshot `<nn>-<step>.png`, and on failure prints the step, the error, the console errors and
// the failed requests to our server; the steps after a failure are skipped, since they build on it.
// BROWSER_DUMP_HTML=1 also saves each step's DOM as `<nn>-<step>.html`, to find selectors.

import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";

/** Default bound of one step: several UI round trips on a slow, busy machine. */
const STEP_TIMEOUT_MS = 45_000;
const SCREENSHOT_TIMEOUT_MS = 10_000;
const DUMP_HTML = process.env.BROWSER_DUMP_HTML === "1";
/** How much of the server's output a failure report shows. */
const SERVER_TAIL_LINES = 40;

function slug(name) {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** Rejects after `ms` with a message naming the step. */
function bounded(promise, what, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step "${what}" did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class Journey {
  /**
   * `session()` returns the `{page, diagnostics}` opened by the suite's `before` hook;
   * `serverOutput()` what the server printed, for failure reports.
   */
  constructor({ screenshotDir, session, serverOutput = () => "" }) {
    this.screenshotDir = screenshotDir;
    this.session = session;
    this.serverOutput = serverOutput;
    this.count = 0;
    this.failed = null;
  }

  /** Empties the screenshot directory, so no picture of an earlier run is mistaken for this one's. */
  async prepare() {
    await mkdir(this.screenshotDir, { recursive: true });
    for (const file of await readdir(this.screenshotDir)) {
      if (/\.(png|html)$/.test(file)) await rm(path.join(this.screenshotDir, file), { force: true });
    }
  }

  /** Registers step `name`; `run(page)` does it and checks its outcome. */
  step(name, run, { timeout = STEP_TIMEOUT_MS } = {}) {
    const number = String(++this.count).padStart(2, "0");
    const label = `${number} ${name}`;
    const screenshot = `${number}-${slug(name)}.png`;
    test(label, async (t) => {
      if (this.failed) {
        t.skip(`step "${this.failed}" failed`);
        return;
      }
      const { page, diagnostics } = this.session();
      diagnostics.step = label;
      try {
        await bounded(run(page), label, timeout);
      } catch (err) {
        this.failed = label;
        await this.#screenshot(page, screenshot);
        this.#report(label, err, diagnostics);
        throw err;
      }
      await this.#screenshot(page, screenshot);
    });
  }

  async #screenshot(page, file) {
    try {
      await page.screenshot({ path: path.join(this.screenshotDir, file), timeout: SCREENSHOT_TIMEOUT_MS });
      if (DUMP_HTML) await writeFile(path.join(this.screenshotDir, file.replace(/png$/, "html")), await page.content());
    } catch (err) {
      console.error(`(no screenshot ${file}: ${err.message})`);
    }
  }

  #report(label, err, diagnostics) {
    // Playwright colours its call logs; a CI log shows escape codes.
    const error = String(err.stack ?? err).replace(/\x1b\[[0-9;]*m/g, "");
    const lines = [`STEP FAILED: ${label}`, `  error: ${error}`, ...observations(diagnostics)];
    const serverTail = this.serverOutput().trimEnd().split("\n").slice(-SERVER_TAIL_LINES);
    lines.push(`  server output (last ${serverTail.length} lines):`, ...serverTail.map((line) => `    ${line}`));
    lines.push(`  screenshots: ${this.screenshotDir}`);
    console.error(lines.join("\n"));
  }

  /**
   * After a run without failures, prints what the page still reported (console errors, failed
   * requests to the server): not fatal for the UI, but often a server-side discrepancy.
   */
  printObservations(diagnostics) {
    if (this.failed) return;
    if (diagnostics.consoleErrors.length === 0 && diagnostics.failedRequests.length === 0) return;
    console.log(["observed while the journey passed:", ...observations(diagnostics)].join("\n"));
  }
}

function observations(diagnostics) {
  const consoleLines = diagnostics.consoleLines();
  const requestLines = diagnostics.requestLines();
  return [
    `  browser console errors (${consoleLines.length}):`,
    ...consoleLines.map((line) => `    ${line}`),
    `  failed requests to the server (${requestLines.length}):`,
    ...requestLines.map((line) => `    ${line}`),
  ];
}
