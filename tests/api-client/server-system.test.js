// api-client `server` and `system` services (API spec §2.6, §2.7). `server.stopServer` has its own
// file and server (stop-server.test.js).

import assert from "node:assert/strict";
import { createRunningAgent, expectStatus, uniqueName } from "./lib/fixtures.js";
import { methodTest } from "./lib/recording.js";
import {
  assertArray,
  assertDateLike,
  assertNonEmptyString,
  assertNumber,
  assertObject,
  assertString,
  assertUuid,
  optional,
} from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";

const suite = useSuite(async (target) => {
  // A running agent: /api/server/health answers 503 without one.
  const agentName = uniqueName("Conformance System");
  return { agentName, agentId: await createRunningAgent(target, agentName) };
});

methodTest("server.ping", "answers {pong: true}", async () => {
  const reply = await suite.client.server.ping();
  assert.equal(reply.pong, true);
  assertNumber(reply.timestamp, "timestamp");
});

methodTest("server.hello", "answers its greeting", async () => {
  assert.deepEqual(await suite.client.server.hello(), { message: "Hello World!" });
});

methodTest("server.getStatus", "ServerStatus, plus 1.7.2's status and agentCount", async () => {
  const status = await suite.client.server.getStatus();
  // 1.7.2's fields (spec §2.6), which the web UI reads.
  assert.equal(status.status, "ok");
  assertNumber(status.agentCount, "agentCount");
  assert.ok(status.agentCount >= 1, "agentCount counts the running agent");
  assertDateLike(status.timestamp, "timestamp");
  // ServerStatus (types/server.d.ts).
  assertObject(status.agents, "agents");
  for (const key of ["total", "active", "inactive"]) assertNumber(status.agents[key], `agents.${key}`);
  assert.ok(status.agents.active >= 1, "agents.active counts the running agent");
  assertObject(status.memory, "memory");
  for (const key of ["used", "total", "percentage"]) assertNumber(status.memory[key], `memory.${key}`);
  assertNumber(status.uptime, "uptime");
  assertString(status.version, "version");
});

methodTest("server.checkHealth", "ServerHealth with 1.7.2's status value", async () => {
  const health = await suite.client.server.checkHealth();
  // ServerHealth types `status` as healthy|degraded|unhealthy; 1.7.2 answers "OK" (spec §2.6),
  // which a drop-in keeps.
  assert.equal(health.status, "OK");
  assert.equal(health.dependencies?.agents, "healthy");
  assertNumber(health.uptime, "uptime");
  assertDateLike(health.timestamp, "timestamp");
  optional(health.version, "version", assertString);
});

methodTest("server.getDebugInfo", "ServerDebugInfo (1.7.2 gave the client undefined)", async () => {
  const info = await suite.client.server.getDebugInfo();
  assertObject(info, "debug info");
  assertObject(info.runtime, "runtime");
  assertArray(info.runtime.agents, "runtime.agents");
  for (const agent of info.runtime.agents) {
    assertUuid(agent.id, "runtime.agents[].id");
    assertString(agent.name, "runtime.agents[].name");
    assertString(agent.status, "runtime.agents[].status");
  }
  assert.ok(
    info.runtime.agents.some((agent) => agent.id === suite.agentId),
    "runtime.agents lists the running agent",
  );
  assertNumber(info.runtime.connections, "runtime.connections");
  assertObject(info.runtime.memory, "runtime.memory");
  assertObject(info.environment, "environment");
  for (const [key, value] of Object.entries(info.environment)) assertString(value, `environment.${key}`);
});

methodTest("server.submitLogs", "answers {received} with the count sent", async () => {
  const logs = [
    { level: "info", message: "api-client conformance: one", source: "api-client-conformance" },
    { level: "warn", message: "api-client conformance: two", metadata: { n: 2 } },
  ];
  const reply = await suite.client.server.submitLogs(logs);
  assertObject(reply, "reply");
  assert.equal(reply.received, logs.length);
});

methodTest("system.getEnvironment", "the variables of the server's .env", async () => {
  const env = await suite.client.system.getEnvironment();
  assertObject(env, "environment");
  for (const [key, value] of Object.entries(env)) assertString(value, `environment.${key}`);
  // Our server is started with DOT_ENV; differential.sh gives the reference the same file.
  assert.equal(env.API_CLIENT_CONFORMANCE, "1");
});

methodTest("system.updateLocalEnvironment", "{success, message}, and the .env holds the variable", async () => {
  const key = "API_CLIENT_CONFORMANCE_UPDATED";
  const reply = await suite.client.system.updateLocalEnvironment({ variables: { [key]: "yes" } });
  const env = await expectStatus(suite.target, "GET", "/api/system/env/local", undefined, 200);
  assert.equal(env.data[key], "yes", "the .env holds the variable");
  assertObject(reply, "reply");
  assert.equal(reply.success, true, "reply.success");
  assertNonEmptyString(reply.message, "reply.message");
});

methodTest("system.getGlobalLogs", "the log buffer filtered by level", async () => {
  const logs = await suite.client.system.getGlobalLogs({ level: "info" });
  assertArray(logs.logs, "logs");
  assert.ok(logs.logs.length > 0, "the buffer holds info entries (the server's start, the agent's)");
  for (const entry of logs.logs) {
    assert.equal(entry.level, 30, `an info entry: ${JSON.stringify(entry)}`);
    assertNumber(entry.time, "logs[].time");
    assertString(entry.msg, "logs[].msg");
  }
  assertNumber(logs.count, "count");
  assert.equal(logs.count, logs.logs.length);
  assertNumber(logs.total, "total");
  assert.equal(logs.level, "info");
  assertArray(logs.levels, "levels");
  assert.ok(logs.levels.includes("info") && logs.levels.includes("error"), `levels: ${logs.levels}`);
});

methodTest("system.deleteLog", "refused by the client itself, without a request", async () => {
  await assert.rejects(suite.client.system.deleteLog("any"), /Individual log deletion is not supported/);
});

// The log-clearing calls come last: they empty the buffer the tests above read.

methodTest("system.deleteGlobalLogs", "clears the buffer: {status, message}", async () => {
  const reply = await suite.client.system.deleteGlobalLogs();
  assert.equal(reply.status, "success");
  assertNonEmptyString(reply.message, "message");
});

methodTest("server.clearLogs", "clears the buffer: {cleared} and 1.7.2's {status, message}", async () => {
  const reply = await suite.client.server.clearLogs();
  assert.equal(reply.status, "success");
  assertNonEmptyString(reply.message, "message");
  assertNumber(reply.cleared, "cleared");
});
