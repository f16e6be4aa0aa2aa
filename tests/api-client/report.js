// Reads the suite's results files (target/api-client/results-<kind>.json).
//
//   node report.js [KIND]                  pass count and every failure with its HTTP exchanges
//   node report.js --diff KIND_A KIND_B    pass counts of both, and every method whose statuses,
//                                          outcome or returned shape differ between the two
//
// A KIND is a results file's kind (`ours`, `reference`) or a path to such a file.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { clientMethods } from "./lib/methods.js";
import { RESULTS_DIR } from "./lib/recording.js";

/** The methods of the reference's own api-client check (reference-server.md: 34 of 40 work). */
const CLASSIC = [
  "server.ping",
  "server.hello",
  "server.getStatus",
  "server.checkHealth",
  "system.getEnvironment",
  "agents.listAgents",
  "agents.createAgent",
  "agents.getAgent",
  "agents.startAgent",
  "agents.updateAgent",
  "agents.stopAgent",
  "agents.deleteAgent",
  "agents.getAgentPanels",
  "agents.getAgentLogs",
  "runs.listRuns",
  "memory.getAgentMemories",
  "agents.getWorlds",
  "messaging.getCurrentMessageServer",
  "messaging.listMessageServers",
  "messaging.getMessageServerChannels",
  "messaging.createChannel",
  "messaging.createGroupChannel",
  "messaging.getOrCreateDmChannel",
  "messaging.getChannelDetails",
  "messaging.getChannelParticipants",
  "messaging.addAgentToChannel",
  "messaging.postMessage",
  "messaging.getChannelMessages",
  "messaging.getMessage",
  "messaging.searchMessages",
  "sessions.createSession",
  "sessions.checkHealth",
  "sessions.sendMessage",
  "sessions.sendMessageSync",
  "sessions.getMessages",
  "sessions.listSessions",
  "jobs.health",
  "jobs.ask",
];

function load(kind) {
  const file = existsSync(kind) ? kind : path.join(RESULTS_DIR, `results-${kind}.json`);
  if (!existsSync(file)) throw new Error(`no results file ${file}: run the suite first`);
  const results = JSON.parse(readFileSync(file, "utf8"));
  results.byMethod = new Map(results.records.map((record) => [record.method, record]));
  return results;
}

const outcome = (record) => (!record ? "not run" : record.skipped ? "skipped" : record.pass ? "pass" : "FAIL");

function counts(results) {
  const classic = CLASSIC.filter((method) => results.byMethod.get(method)?.pass).length;
  const total = `${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`;
  return `${total} (classic calls: ${classic}/${CLASSIC.length})`;
}

function indent(text, prefix = "      ") {
  return String(text)
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
}

function describeExchange(exchange) {
  const lines = [`${exchange.method} ${exchange.path} → ${exchange.status ?? exchange.networkError}`];
  if (exchange.requestBody !== undefined) lines.push(`  request:  ${exchange.requestBody}`);
  if (exchange.responseBody !== undefined) lines.push(`  response: ${exchange.responseBody}`);
  return lines.join("\n");
}

/** What a failed test expected, on one line. */
function summarize(failure) {
  const first = String(failure?.message ?? "")
    .split("\n")[0]
    .trim();
  const generic = /^Expected values to be|^The expression evaluated to a falsy value/.test(first);
  if (failure?.actual === undefined || /\bgot\b/.test(first)) return first;
  const values = `got ${failure.actual}, expected ${failure.expected}`;
  return generic ? values : `${first}: ${values}`;
}

function printFailures(results) {
  console.log(`${results.kind}: ${counts(results)}`);
  for (const record of results.records.filter((r) => r.pass === false)) {
    console.log(`\n✗ ${record.test}`);
    console.log(`    expected: ${summarize(record.failure)}`);
    if (record.failure?.at) console.log(`    at ${record.failure.at}`);
    if (record.failure?.name === "ApiError") {
      console.log(`    client error: ApiError ${record.failure.code} (status ${record.failure.status})`);
    }
    for (const exchange of record.exchanges ?? []) console.log(indent(describeExchange(exchange), "    "));
    if (!record.called) console.log("    (the method was not reached: a fixture or an earlier step failed)");
  }
  const missing = clientMethods().filter((method) => !results.byMethod.has(method));
  if (missing.length) console.log(`\nNot run (a file's fixtures failed, or it was not run): ${missing.join(", ")}`);
}

/** A shape in a few characters: `string`, `[…]`, `{id,name,…}`. */
function brief(shape) {
  if (shape === undefined) return "–";
  if (Array.isArray(shape)) return shape.length ? `[${brief(shape[0])}]` : "[]";
  if (shape && typeof shape === "object") {
    const keys = Object.keys(shape).join(",");
    return `{${keys.length > 60 ? `${keys.slice(0, 60)}…` : keys}}`;
  }
  return String(shape);
}

const isObject = (shape) => shape !== null && typeof shape === "object" && !Array.isArray(shape);

/** `path: A …, B …` for each place two shapes differ; a subtree only one side has is one line. */
function shapeDifference(a, b, nameA, nameB, at = ".", out = []) {
  if (JSON.stringify(a) === JSON.stringify(b)) return out;
  const join = (key) => (at === "." ? key : `${at}.${key}`);
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      shapeDifference(a[key], b[key], nameA, nameB, join(key), out);
    }
  } else if (Array.isArray(a) && Array.isArray(b) && a.length && b.length) {
    shapeDifference(a[0], b[0], nameA, nameB, `${at === "." ? "" : at}[]`, out);
  } else {
    out.push(`${at}: ${nameA} ${brief(a)}, ${nameB} ${brief(b)}`);
  }
  return out;
}

/** Statuses with repeats folded: `[201, 200×47]`. */
function foldStatuses(statuses = []) {
  const folded = [];
  for (const status of statuses) {
    const last = folded.at(-1);
    if (last?.status === status) last.count++;
    else folded.push({ status, count: 1 });
  }
  return folded.map(({ status, count }) => (count > 1 ? `${status}×${count}` : String(status))).join(", ");
}

function printDifferences(a, b) {
  console.log(`${a.kind}: ${counts(a)}`);
  console.log(`${b.kind}: ${counts(b)}`);
  const methods = [...new Set([...clientMethods(), ...a.byMethod.keys(), ...b.byMethod.keys()])].sort();
  let differing = 0;
  for (const method of methods) {
    const [ra, rb] = [a.byMethod.get(method), b.byMethod.get(method)];
    const lines = [];
    if (outcome(ra) !== outcome(rb)) lines.push(`outcome: ${a.kind} ${outcome(ra)}, ${b.kind} ${outcome(rb)}`);
    // Repeats are folded: how often a poll ran is timing, not behaviour.
    const [sa, sb] = [ra?.statuses, rb?.statuses].map((statuses) => [...new Set(statuses ?? [])].join(", "));
    if (sa !== sb)
      lines.push(`statuses: ${a.kind} [${foldStatuses(ra?.statuses)}], ${b.kind} [${foldStatuses(rb?.statuses)}]`);
    const [ea, eb] = [ra?.error?.code, rb?.error?.code];
    if (ea !== eb) lines.push(`client error: ${a.kind} ${ea ?? "–"}, ${b.kind} ${eb ?? "–"}`);
    if (ra?.shape && rb?.shape) {
      lines.push(...shapeDifference(ra.shape, rb.shape, a.kind, b.kind).map((line) => `shape ${line}`));
    } else if (ra?.shape || rb?.shape) {
      lines.push(`shape: ${a.kind} ${brief(ra?.shape)}, ${b.kind} ${brief(rb?.shape)} (no value: the call threw)`);
    }
    if (lines.length === 0) continue;
    differing++;
    console.log(`\n${method}`);
    for (const line of lines) console.log(`    ${line}`);
    for (const [kind, record] of [
      [a.kind, ra],
      [b.kind, rb],
    ]) {
      if (record?.pass === false) console.log(`    ${kind} failure: ${summarize(record.failure)}`);
    }
  }
  console.log(`\n${differing} of ${methods.length} methods differ.`);
}

const args = process.argv.slice(2);
if (args[0] === "--diff") printDifferences(load(args[1] ?? "ours"), load(args[2] ?? "reference"));
else printFailures(load(args[0] ?? "ours"));
