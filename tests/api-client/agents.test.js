// api-client `agents` and `runs` services (API spec §2.1, §2.3.2). Lifecycle methods that change
// an agent's state work on agents of their own, so a failure does not cascade.

import assert from "node:assert/strict";
import { api } from "../node-support/server.js";
import {
  DEFAULT_SERVER,
  character,
  conversation,
  createAgent,
  createRunningAgent,
  createWorld,
  eventually,
  expectStatus,
  uniqueName,
  userId,
} from "./lib/fixtures.js";
import { methodTest } from "./lib/recording.js";
import {
  assertAgent,
  assertArray,
  assertBoolean,
  assertDateLike,
  assertNonEmptyString,
  assertNumber,
  assertObject,
  assertRunEvent,
  assertRunSummary,
  assertString,
  assertSuccess,
  assertUuid,
  assertWorld,
  optional,
} from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";

const suite = useSuite(async (target) => {
  const agentName = uniqueName("Conformance Agents");
  const agentId = await createRunningAgent(target, agentName);
  // One exchange, so the agent has logs and a run.
  const chat = await conversation(target, userId(), agentId);
  await eventually("two logs of the agent", async () => (await agentLogs(target, agentId)).length >= 2);
  const world = await createWorld(target, agentId);
  return { agentName, agentId, chat, world };
});

/** The agent's logs through 1.7.2's own query (`count`), newest first. */
async function agentLogs(target, agentId) {
  return (await expectStatus(target, "GET", `/api/agents/${agentId}/logs?count=50`, undefined, 200)).data;
}

/** The agent as stored, or the raw reply when it is not found. */
const rawAgent = (agentId) => api(suite.target, "GET", `/api/agents/${agentId}`);

/** The agents of the default message server. */
async function serverAgents() {
  const route = `/api/messaging/message-servers/${DEFAULT_SERVER}/agents`;
  return (await expectStatus(suite.target, "GET", route, undefined, 200)).data.agents;
}

/**
 * `{messageServerId, agentId, message}` of a membership change: the `data` of the envelope the
 * method is typed as (client typing bug: the type describes the envelope).
 */
function assertMembership(reply, agentId) {
  assertObject(reply, "reply");
  assert.equal(reply.messageServerId, DEFAULT_SERVER, "reply.messageServerId");
  assert.equal(reply.agentId, agentId, "reply.agentId");
  assertNonEmptyString(reply.message, "reply.message");
}

methodTest("agents.listAgents", "{agents: Agent[]} with the running agent", async () => {
  const { agents } = await suite.client.agents.listAgents();
  assertArray(agents, "agents");
  agents.forEach((agent, i) => {
    assertAgent(agent, `agents[${i}]`);
    assertUuid(agent.id, `agents[${i}].id`);
  });
  const mine = agents.find((agent) => agent.id === suite.agentId);
  assert.ok(mine, "the fixture agent is listed");
  assert.equal(mine.name, suite.agentName);
  assert.equal(mine.status, "active");
});

methodTest("agents.getAgent", "the Agent with its status", async () => {
  const agent = await suite.client.agents.getAgent(suite.agentId);
  assertAgent(agent);
  assert.equal(agent.id, suite.agentId);
  assert.equal(agent.name, suite.agentName);
  assert.deepEqual(agent.bio, character(suite.agentName).bio);
  assert.equal(agent.status, "active");
  assertBoolean(agent.enabled, "enabled");
  assert.deepEqual(agent.plugins, character(suite.agentName).plugins);
});

methodTest("agents.updateAgent", "the updated Agent", async () => {
  const name = uniqueName("Conformance Update");
  const agentId = await createRunningAgent(suite.target, name);
  const bio = ["Updated through the api-client."];
  const agent = await suite.client.agents.updateAgent(agentId, { bio });
  assertAgent(agent);
  assert.equal(agent.id, agentId);
  assert.equal(agent.name, name);
  assert.deepEqual(agent.bio, bio);
  assert.equal(agent.status, "active");
  assert.ok(agent.updatedAt >= agent.createdAt, "updatedAt is not before createdAt");
});

methodTest("agents.createAgent", "the created Agent (and 1.7.2's {id, character})", async () => {
  const name = uniqueName("Conformance Created");
  const created = await suite.client.agents.createAgent({ characterJson: character(name) });
  // 1.7.2's answer (spec §2.1).
  assertUuid(created.id, "id");
  assert.equal((await rawAgent(created.id)).status, 200, "the agent is stored");
  assertObject(created.character, "character");
  assert.equal(created.character.name, name);
  // Agent (agents.d.ts: createAgent resolves an Agent).
  assertAgent(created);
  assert.equal(created.name, name);
  assert.deepEqual(created.bio, character(name).bio);
});

methodTest("agents.startAgent", "{status: 'active'}", async () => {
  const agentId = await createAgent(suite.target, uniqueName("Conformance Start"));
  const started = await suite.client.agents.startAgent(agentId);
  assert.equal(started.status, "active");
  assert.equal(started.id, agentId);
  assert.equal((await rawAgent(agentId)).body.data.status, "active");
});

methodTest("agents.stopAgent", "{status} (and 1.7.2's message); the agent is inactive", async () => {
  const agentId = await createRunningAgent(suite.target, uniqueName("Conformance Stop"));
  const stopped = await suite.client.agents.stopAgent(agentId);
  assert.equal((await rawAgent(agentId)).body.data.status, "inactive");
  assert.equal(stopped.message, "Agent stopped");
  // {status: string} (agents.d.ts); the web UI shows `Agent ${result.status}`.
  assertNonEmptyString(stopped.status, "status");
});

methodTest("agents.deleteAgent", "{success: true}; the agent is gone", async () => {
  const agentId = await createRunningAgent(suite.target, uniqueName("Conformance Delete"));
  const reply = await suite.client.agents.deleteAgent(agentId);
  assert.equal((await rawAgent(agentId)).status, 404, "the agent is not found");
  assertSuccess(reply, "reply");
});

methodTest("agents.getAgentPanels", "{panels: AgentPanel[]}", async () => {
  const { panels } = await suite.client.agents.getAgentPanels(suite.agentId);
  assertArray(panels, "panels");
  for (const panel of panels) {
    assertNonEmptyString(panel.id, "panels[].id");
    assertNonEmptyString(panel.name, "panels[].name");
    assert.match(panel.url, new RegExp(`^/api/agents/${suite.agentId}/plugins/`), "panels[].url");
    assert.equal(panel.type, "plugin");
  }
});

methodTest("agents.getAgentLogs", "AgentLog[], at most `limit` of them", async () => {
  const logs = await suite.client.agents.getAgentLogs(suite.agentId, { limit: 1 });
  assertArray(logs, "logs");
  assert.equal(logs.length, 1, "limit: 1 (the agent has more logs)");
  for (const log of logs) {
    assertUuid(log.id, "logs[].id");
    assertNonEmptyString(log.type, "logs[].type");
    optional(log.roomId, "logs[].roomId", assertUuid);
    optional(log.body, "logs[].body", assertObject);
    // AgentLog types createdAt as a number; 1.7.2 sends an ISO string (spec §1.7): either is a date.
    optional(log.createdAt, "logs[].createdAt", assertDateLike);
  }
});

methodTest("agents.deleteAgentLog", "{success: true}; the log is gone", async () => {
  // An agent of its own: deleting a run's log changes what the runs tests read.
  const agentId = await createRunningAgent(suite.target, uniqueName("Conformance Logs"));
  await conversation(suite.target, userId(), agentId);
  const victim = await eventually("a log", async () => (await agentLogs(suite.target, agentId)).at(-1));
  const reply = await suite.client.agents.deleteAgentLog(agentId, victim.id);
  const left = await agentLogs(suite.target, agentId);
  assert.ok(!left.some((log) => log.id === victim.id), "the deleted log is no longer listed");
  assertSuccess(reply, "reply");
});

methodTest("runs.listRuns", "{runs: RunSummary[], total, hasMore}", async () => {
  const runs = await suite.client.runs.listRuns(suite.agentId, { limit: 10 });
  assertArray(runs.runs, "runs");
  assert.ok(runs.runs.length >= 1, "the exchange made a run");
  runs.runs.forEach((run, i) => assertRunSummary(run, `runs[${i}]`));
  assertNumber(runs.total, "total");
  assert.ok(runs.total >= runs.runs.length, "total counts the listed runs");
  assertBoolean(runs.hasMore, "hasMore");
});

methodTest("runs.getRun", "RunDetail: the summary and its events", async () => {
  // `from` bypasses 1.7.2's 15 s cache of the plain list.
  const listed = await expectStatus(
    suite.target,
    "GET",
    `/api/agents/${suite.agentId}/runs?from=0&limit=5`,
    undefined,
    200,
  );
  const runId = listed.data.runs[0]?.runId;
  assertUuid(runId, "a listed run");
  const run = await suite.client.runs.getRun(suite.agentId, runId);
  assertRunSummary(run.summary, "summary");
  assert.equal(run.summary.runId, runId);
  assertArray(run.events, "events");
  run.events.forEach((event, i) => assertRunEvent(event, `events[${i}]`));
  assert.ok(
    run.events.some((event) => event.type === "RUN_STARTED"),
    "the run's start is an event",
  );
});

methodTest("agents.getWorlds", "{worlds: AgentWorld[]} with the agent's world", async () => {
  const { worlds } = await suite.client.agents.getWorlds();
  assertArray(worlds, "worlds");
  for (const world of worlds) {
    assertUuid(world.id, "worlds[].id");
    assertString(world.name, "worlds[].name");
  }
  const mine = worlds.find((world) => world.id === suite.world.id);
  assert.ok(mine, "the fixture world is listed");
  assert.equal(mine.name, suite.world.name);
});

methodTest("agents.addAgentToWorld", "the data {world} (typed as the envelope {success})", async () => {
  // Client typing bug: the type describes the envelope. Typed `{success}`, while the client returns
  // the envelope's data: `{world}`, as 1.7.2's POST /worlds answers (1.7.2 itself refuses the
  // client's `{worldId}` body with 400 "World name is required").
  const reply = await suite.client.agents.addAgentToWorld(suite.agentId, suite.world.id);
  assertObject(reply, "reply");
  assertWorld(reply.world, "reply.world");
  assert.equal(reply.world.id, suite.world.id, "reply.world.id: the world asked for");
  assert.equal(reply.world.agentId, suite.agentId, "reply.world.agentId");
});

methodTest("agents.updateAgentWorldSettings", "AgentWorldSettings: {worldId, settings}", async () => {
  const settings = { theme: "dark", level: 2 };
  const reply = await suite.client.agents.updateAgentWorldSettings(suite.agentId, suite.world.id, settings);
  assertObject(reply, "reply");
  assert.equal(reply.worldId, suite.world.id, "reply.worldId");
  assertObject(reply.settings, "settings");
  for (const [key, value] of Object.entries(settings)) assert.deepEqual(reply.settings[key], value, `settings.${key}`);
});

// The message-server methods are typed as the whole envelope, `{success, data: {…}}`, while the
// client returns its `data` (client typing bug: the type describes the envelope). The tests assert
// the data, with every field its type promises.

methodTest("agents.getMessageServersForAgent", "the data {agentId, messageServers}", async () => {
  const reply = await suite.client.agents.getMessageServersForAgent(suite.agentId);
  assertObject(reply, "reply");
  assert.equal(reply.agentId, suite.agentId, "reply.agentId");
  assertArray(reply.messageServers, "messageServers");
  reply.messageServers.forEach((id) => assertUuid(id, "messageServers[]"));
  assert.ok(reply.messageServers.includes(DEFAULT_SERVER), "a started agent joins the default server");
});

methodTest("agents.getAgentsForMessageServer", "the data {messageServerId, agents}", async () => {
  const reply = await suite.client.agents.getAgentsForMessageServer(DEFAULT_SERVER);
  assertObject(reply, "reply");
  assert.equal(reply.messageServerId, DEFAULT_SERVER, "reply.messageServerId");
  assertArray(reply.agents, "agents");
  reply.agents.forEach((id) => assertUuid(id, "agents[]"));
  assert.ok(reply.agents.includes(suite.agentId), "the running agent is on the default server");
});

methodTest("agents.addAgentToMessageServer", "the data {messageServerId, agentId, message}", async () => {
  const agentId = await createAgent(suite.target, uniqueName("Conformance Join"));
  const reply = await suite.client.agents.addAgentToMessageServer(DEFAULT_SERVER, agentId);
  assert.ok((await serverAgents()).includes(agentId), "the agent is on the server");
  assertMembership(reply, agentId);
});

methodTest("agents.removeAgentFromMessageServer", "the data {messageServerId, agentId, message}", async () => {
  const agentId = await createAgent(suite.target, uniqueName("Conformance Leave"));
  await expectStatus(suite.target, "POST", `/api/messaging/message-servers/${DEFAULT_SERVER}/agents`, { agentId }, 201);
  assert.ok((await serverAgents()).includes(agentId), "fixture: the agent is on the server");
  const reply = await suite.client.agents.removeAgentFromMessageServer(DEFAULT_SERVER, agentId);
  assert.ok(!(await serverAgents()).includes(agentId), "the agent left the server");
  assertMembership(reply, agentId);
});
