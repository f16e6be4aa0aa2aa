// Headless Debian Chromium through playwright-core, and what a page reports about itself:
// console errors and requests to our server that failed.

import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Without these, Chromium on a machine with no outside network hangs on refused connections. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const LAUNCH_TIMEOUT_MS = 30_000;
/** Any single Playwright action or wait; the machine is slow and busy. */
export const ACTION_TIMEOUT_MS = 15_000;
/** BROWSER_TRACE_REQUESTS=1 prints every API request the page makes, with its status. */
const TRACE_REQUESTS = process.env.BROWSER_TRACE_REQUESTS === "1";
/**
 * Console errors that only say the outside world is unreachable (the suite blocks it): the UI's
 * GitHub release check and plugin registry fetch fail harmlessly offline (API spec §4).
 */
const OFFLINE_NOISE = [/net::ERR_BLOCKED_BY_CLIENT/, /Failed to fetch (plugin registry|from registry)/];
/** A desktop viewport, so the UI shows its sidebar instead of the mobile menu. */
const VIEWPORT = { width: 1366, height: 900 };

/**
 * Launches Chromium with a fresh profile and opens one page on `origin`. Requests anywhere else
 * (GitHub release checks, the plugin registry) are aborted at once instead of timing out.
 * Resolves `{page, context, diagnostics, close()}`.
 */
export async function openBrowser(origin) {
  await access(CHROMIUM).catch(() => {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  });
  const profile = await mkdtemp(path.join(tmpdir(), "eliza-browser-profile-"));
  let context;
  try {
    // launchPersistentContext is how Playwright takes a --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: VIEWPORT,
      timeout: LAUNCH_TIMEOUT_MS,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  await context.route(
    (url) => url.origin !== origin,
    (route) => route.abort("blockedbyclient"),
  );
  const page = context.pages()[0] ?? (await context.newPage());
  const diagnostics = new Diagnostics(page, origin);
  return {
    page,
    context,
    diagnostics,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Console errors (less offline noise), uncaught page errors and failed requests to `origin`
 * (status ≥ 400, or no response at all), each tagged with the step that was running.
 */
export class Diagnostics {
  constructor(page, origin) {
    this.origin = origin;
    this.step = "(setup)";
    this.consoleErrors = [];
    this.failedRequests = [];
    page.on("console", (message) => {
      const text = message.text();
      if (message.type() === "error" && !OFFLINE_NOISE.some((noise) => noise.test(text))) {
        this.consoleErrors.push({ step: this.step, text });
      }
    });
    page.on("pageerror", (error) => {
      this.consoleErrors.push({ step: this.step, text: `uncaught: ${error.message}` });
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && this.#ours(response.url())) {
        this.#recordFailure(response.request(), `${response.status()} ${response.statusText()}`, response);
      }
    });
    if (TRACE_REQUESTS) page.on("requestfinished", (request) => this.#trace(request));
    page.on("requestfailed", (request) => {
      const error = request.failure()?.errorText ?? "failed";
      // ERR_ABORTED: the page itself dropped the request (a reload or navigation), not the server.
      if (this.#ours(request.url()) && !error.includes("ERR_ABORTED")) this.#recordFailure(request, error);
    });
  }

  /** Prints a finished API request (not the static files), for BROWSER_TRACE_REQUESTS=1. */
  async #trace(request) {
    if (!this.#ours(request.url()) || !request.url().includes("/api/")) return;
    const response = await request.response().catch(() => null);
    const body = requestBody(request);
    const sent = body ? ` ${truncate(body, 200)}` : "";
    const route = request.url().slice(this.origin.length);
    console.log(`[${this.step}] ${request.method()} ${route}${sent} -> ${response?.status()}`);
  }

  #ours(url) {
    return url.startsWith(`${this.origin}/`);
  }

  #recordFailure(request, outcome, response) {
    const entry = {
      step: this.step,
      method: request.method(),
      path: request.url().slice(this.origin.length),
      outcome,
      requestBody: requestBody(request),
      responseBody: undefined,
    };
    this.failedRequests.push(entry);
    // The body arrives later; keep the entry and fill it in when it does.
    response
      ?.text()
      .then((text) => (entry.responseBody = text.slice(0, 500)))
      .catch(() => {});
  }

  /** The failed requests, as lines. */
  requestLines() {
    return this.failedRequests.map((entry) => {
      const sent = entry.requestBody ? ` body ${truncate(entry.requestBody)}` : "";
      const got = entry.responseBody ? ` -> ${truncate(entry.responseBody)}` : "";
      return `[${entry.step}] ${entry.method} ${entry.path}${sent}: ${entry.outcome}${got}`;
    });
  }

  /** The console errors, as lines. */
  consoleLines() {
    return this.consoleErrors.map((entry) => `[${entry.step}] ${truncate(entry.text)}`);
  }
}

/** What a request sent, readable: an upload's bytes are left out. */
function requestBody(request) {
  if ((request.headers()["content-type"] ?? "").startsWith("multipart/")) return "(multipart form)";
  return request.postData() ?? undefined;
}

function truncate(text, max = 300) {
  const flat = String(text).replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
