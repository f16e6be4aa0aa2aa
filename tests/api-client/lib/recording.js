// Records what every api-client method under test did: the HTTP exchanges it made (method, path,
// bodies, status), what it returned or threw, and whether its test passed. Each test file writes
// its records to target/api-client/results-<kind>/<file>.json and merges all files of that kind
// into target/api-client/results-<kind>.json, the input of report.js and differential.sh.

import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ElizaClient } from "@elizaos/api-client";
import { TARGET_KIND } from "./target.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Where the results go: `ELIZA_RESULTS_DIR`, else the repository's git-ignored target/api-client. */
export const RESULTS_DIR = path.resolve(process.env.ELIZA_RESULTS_DIR ?? path.join(here, "../../../target/api-client"));

/** The client's own request timeout: well under a test's, so a hung call fails as TIMEOUT. */
const CLIENT_TIMEOUT_MS = 10_000;
/** How long one method test may take (a polling job test is the longest). */
export const TEST_TIMEOUT_MS = 20_000;
/** Recorded bodies are cut to this many characters. */
const BODY_CHARS = 1_500;

/** The test being run (its calls), and the client call being made (its exchanges). */
const currentTest = new AsyncLocalStorage();
const currentCall = new AsyncLocalStorage();

const records = [];

// Every request the client makes goes through the global fetch: wrap it once, so the exchanges of
// the call in progress are recorded without touching the client.
const realFetch = globalThis.fetch;
globalThis.fetch = async function recordedFetch(input, init = {}) {
  const call = currentCall.getStore();
  if (!call) return realFetch(input, init);
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  const exchange = {
    method: init.method ?? "GET",
    path: url.pathname + url.search,
    requestBody: describeRequestBody(init.body),
  };
  call.exchanges.push(exchange);
  try {
    const response = await realFetch(input, init);
    exchange.status = response.status;
    exchange.responseBody = await describeResponseBody(response.clone());
    return response;
  } catch (err) {
    exchange.networkError = err.message;
    throw err;
  }
};

function cut(text) {
  return text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS)}… (${text.length} chars)` : text;
}

function describeRequestBody(body) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return cut(body);
  if (body instanceof FormData) {
    const fields = [...body.entries()].map(([name, value]) =>
      value instanceof Blob
        ? `${name}=<${value.type || "blob"}, ${value.size} bytes>`
        : `${name}=${cut(String(value))}`,
    );
    return `multipart: ${fields.join("; ")}`;
  }
  return `<${Object.prototype.toString.call(body)}>`;
}

async function describeResponseBody(response) {
  const type = response.headers.get("content-type") ?? "";
  try {
    if (/json|text|javascript/.test(type) || type === "") return cut(await response.text());
    const bytes = (await response.arrayBuffer()).byteLength;
    return `<${type}, ${bytes} bytes>`;
  } catch (err) {
    return `<unreadable body: ${err.message}>`;
  }
}

/** An object with this many keys or more, all of one primitive type, is a map (e.g. env vars). */
const MAP_KEYS = 12;

/**
 * The shape of a value with the values stripped: `"string"`, `"number"`, `"null"`, …; objects keep
 * their (sorted) keys, except a large map of one primitive type, which becomes `{"*": type}`; an
 * array becomes `[<shape of all its items merged>]`, so a list compares equal whatever its length.
 */
export function shapeOf(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return value.length === 0 ? [] : [value.map(shapeOf).reduce(mergeShapes)];
  if (typeof value === "object") {
    const shape = {};
    for (const key of Object.keys(value).sort()) shape[key] = shapeOf(value[key]);
    const types = new Set(Object.values(shape));
    const isMap = Object.keys(shape).length >= MAP_KEYS && types.size === 1 && typeof [...types][0] === "string";
    return isMap ? { "*": [...types][0] } : shape;
  }
  return typeof value;
}

function mergeShapes(a, b) {
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  const isObject = (s) => s !== null && typeof s === "object" && !Array.isArray(s);
  if (isObject(a) && isObject(b)) {
    const merged = {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      merged[key] = key in a && key in b ? mergeShapes(a[key], b[key]) : (a[key] ?? b[key]);
    }
    return merged;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length && b.length ? [mergeShapes(a[0], b[0])] : a.length ? a : b;
  const names = (s) => (typeof s === "string" ? s.split("|") : [JSON.stringify(s)]);
  return [...new Set([...names(a), ...names(b)])].sort().join("|");
}

/** Runs `fn` as one client call named `method` (e.g. `agents.getAgent`), recording what it did. */
async function recordCall(method, fn) {
  const call = { method, exchanges: [] };
  currentTest.getStore()?.calls.push(call);
  try {
    const value = await currentCall.run(call, fn);
    call.shape = shapeOf(value);
    return value;
  } catch (err) {
    call.error = describeError(err);
    throw err;
  }
}

/** `file:line: code` of the test line that failed (the first frame in a *.test.js file). */
function failingLine(err) {
  const frame = /\(?file:\/\/([^\s()]+\.test\.js):(\d+):\d+/.exec(String(err?.stack ?? ""));
  if (!frame) return undefined;
  try {
    const code = readFileSync(frame[1], "utf8").split("\n")[Number(frame[2]) - 1].trim();
    return `${path.basename(frame[1])}:${frame[2]}: ${code}`;
  } catch {
    return `${path.basename(frame[1])}:${frame[2]}`;
  }
}

function describeError(err) {
  const error = { name: err?.name, message: err?.message };
  const at = failingLine(err);
  if (at) error.at = at;
  if (err?.code === "ERR_ASSERTION") {
    error.actual = cut(JSON.stringify(err.actual) ?? "undefined");
    error.expected = cut(JSON.stringify(err.expected) ?? "undefined");
  }
  if (err?.code !== undefined) error.code = err.code;
  if (err?.status !== undefined) error.status = err.status;
  if (err?.details !== undefined) error.details = err.details;
  return error;
}

/**
 * The unmodified `ElizaClient.create({baseUrl})`, each service wrapped so that its method calls are
 * recorded under `<service>.<method>`. Methods run on the real service object, so a method that
 * calls another (addUserToChannel → updateChannel) is one recorded call.
 */
export function recordingClient(baseUrl) {
  const client = ElizaClient.create({ baseUrl, timeout: CLIENT_TIMEOUT_MS });
  const wrapped = {};
  for (const [service, instance] of Object.entries(client)) {
    wrapped[service] = new Proxy(instance, {
      get(target, property) {
        const value = target[property];
        if (typeof value !== "function" || typeof property !== "string") return value;
        return (...args) => recordCall(`${service}.${property}`, () => value.apply(target, args));
      },
    });
  }
  return wrapped;
}

/**
 * A test of one client method. Its record keeps the exchanges and the returned shape of that
 * method's calls only (the test's fixtures and checks may call other methods).
 */
export function methodTest(method, description, fn, { skip, timeout = TEST_TIMEOUT_MS } = {}) {
  test(`${method}: ${description}`, { skip, timeout }, async (t) => {
    const context = { calls: [] };
    const record = { method, test: `${method}: ${description}`, file: path.basename(process.argv[1] ?? "") };
    records.push(record);
    const started = Date.now();
    try {
      await currentTest.run(context, () => fn(t));
      record.pass = true;
    } catch (err) {
      record.pass = false;
      record.failure = describeError(err);
      throw err;
    } finally {
      record.ms = Date.now() - started;
      const own = context.calls.filter((call) => call.method === method);
      record.called = own.length > 0;
      record.statuses = own.flatMap((call) => call.exchanges.map((exchange) => exchange.status ?? "network error"));
      record.exchanges = own.flatMap((call) => call.exchanges);
      const last = own.at(-1);
      if (last?.error) record.error = last.error;
      else if (last) record.shape = last.shape;
    }
  });
  if (skip) records.push({ method, test: `${method}: ${description}`, skipped: String(skip) });
}

/** Writes this file's records, then merges every file's records of this kind into one JSON. */
function writeResults() {
  if (records.length === 0) return;
  const partsDir = path.join(RESULTS_DIR, `results-${TARGET_KIND}`);
  mkdirSync(partsDir, { recursive: true });
  const file = path.basename(process.argv[1] ?? "unknown.js");
  writeFileSync(
    path.join(partsDir, `${file}.json`),
    JSON.stringify({ file, writtenAt: new Date().toISOString(), records }, null, 1),
  );
  const parts = readdirSync(partsDir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => JSON.parse(readFileSync(path.join(partsDir, name), "utf8")));
  const all = parts.flatMap((part) => part.records);
  const summary = {
    kind: TARGET_KIND,
    files: parts.map(({ file: name, writtenAt }) => ({ file: name, writtenAt })),
    passed: all.filter((r) => r.pass === true).length,
    failed: all.filter((r) => r.pass === false).length,
    skipped: all.filter((r) => r.skipped).length,
    records: all,
  };
  writeFileSync(path.join(RESULTS_DIR, `results-${TARGET_KIND}.json`), JSON.stringify(summary, null, 1));
}
process.on("exit", writeResults);
