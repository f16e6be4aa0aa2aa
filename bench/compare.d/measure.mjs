// One server's rows, in the order the issue lists them; the same steps for the reference and ours.

import { randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { rmSync, mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { call, channelMessages, dmChannel, DEFAULT_SERVER, postBody, startAgent } from "./api.mjs";
import { fanOut, openLoop, wrk } from "./loads.mjs";
import { memoryOf } from "./servers.mjs";

const run = promisify(execFile);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function log(text) {
  process.stderr.write(`[bench] ${text}\n`);
}

/** Row 1: start-up to the first ping, on a new database and on an existing one (medians). */
async function coldStarts(target, plan) {
  const fresh = [];
  const existing = [];
  for (let i = 0; i < plan.starts; i++) {
    const server = await target.start({ fresh: true });
    fresh.push(server.startupMs);
    await server.stop();
  }
  for (let i = 0; i < plan.starts; i++) {
    const server = await target.start({ fresh: false });
    existing.push(server.startupMs);
    await server.stop();
  }
  return { newDbMs: median(fresh), existingDbMs: median(existing), newDbRuns: fresh, existingDbRuns: existing };
}

/** Row 2: idle RSS with 0, 1 and 10 started agents; resolves the agent ids. */
async function idleMemory(server, plan, out) {
  await sleep(plan.settleMs);
  out.idleRss = { 0: memoryOf(server.pid).rssMib };
  const agents = [await startAgent(server.url, 1)];
  await sleep(plan.settleMs);
  out.idleRss[1] = memoryOf(server.pid).rssMib;
  for (let i = 2; i <= 10; i++) agents.push(await startAgent(server.url, i));
  await sleep(plan.settleMs);
  out.idleRss[10] = memoryOf(server.pid).rssMib;
  return agents;
}

/** Rows 3 and 4: the read routes and the synchronous round trip, closed loop under wrk. */
async function closedLoops(server, plan, agent, user, out) {
  const get = (name, route) =>
    wrk({ url: server.url, paths: [route], connections: 10, seconds: plan.seconds, workDir: plan.workDir, name });
  out.healthz = await get(`${server.kind}-healthz`, "/healthz");
  out.ping = await get(`${server.kind}-ping`, "/api/server/ping");
  out.agents = await get(`${server.kind}-agents`, "/api/agents");
  const channels = [];
  for (let i = 0; i < 4; i++) channels.push(await dmChannel(server.url, user, agent));
  const paths = channels.map((c) => `/api/messaging/channels/${c}/messages`);
  const body = postBody(user, "Hello BenchAgent", "http");
  const post = (connections) =>
    wrk({
      url: server.url,
      paths: paths.slice(0, connections),
      body,
      connections,
      seconds: plan.seconds,
      workDir: plan.workDir,
      name: `${server.kind}-roundtrip-c${connections}`,
    });
  out.roundTrip1 = await post(1);
  out.roundTrip4 = await post(4);
  out.roundTripRepliesStored = (await channelMessages(server.url, channels[0], 50)).filter(
    (m) => m.authorId === agent,
  ).length;
  // The first channel now holds the round trips' messages (at least 50 after a full run).
  out.messageList = await get(`${server.kind}-messages`, `/api/messaging/channels/${channels[0]}/messages?limit=50`);
}

/** Row 5: open-loop posting at each rate, one new DM channel per message. */
async function openLoops(server, plan, agent, user, rates, out) {
  out.openLoop ??= {};
  for (const rate of rates) {
    const count = Math.round(rate * plan.openLoopSeconds);
    const channels = [];
    for (let i = 0; i < count; i++) channels.push(await dmChannel(server.url, user, agent));
    log(`${server.kind}: open loop at ${rate}/s`);
    out.openLoop[rate] = await openLoop({
      base: server.url,
      user,
      agent,
      channels,
      rate,
      seconds: plan.openLoopSeconds,
    });
  }
}

/** Row 6: Socket.IO fan-out to N sockets in one group channel with the agent. */
async function fanOuts(server, plan, agent, user, sizes, out) {
  if (sizes.length === 0) return;
  const created = await call(server.url, "POST", "/api/messaging/channels", {
    name: "bench-fanout",
    message_server_id: DEFAULT_SERVER,
    participantCentralUserIds: [user, agent],
    type: "GROUP",
  });
  out.fanOut ??= {};
  for (const clients of sizes) {
    log(`${server.kind}: fan-out to ${clients}`);
    out.fanOut[clients] = await fanOut({
      base: server.url,
      channel: created.data.id,
      user,
      clients,
      posts: plan.fanOutPosts,
      gapMs: plan.fanOutGapMs,
    });
  }
}

/**
 * Every row but memory search for one server: cold starts, then one long-running instance for
 * memory, throughput, messages and fan-out, whose peak RSS closes the run.
 */
export async function measureServer(target, plan) {
  const out = {};
  log(`${target.kind}: cold starts`);
  out.coldStart = await coldStarts(target, plan);
  const server = await target.start({ fresh: false });
  try {
    log(`${target.kind}: idle memory`);
    const agents = await idleMemory(server, plan, out);
    const user = randomUUID();
    log(`${target.kind}: closed loops`);
    await closedLoops(server, plan, agents[0], user, out);
    await openLoops(server, plan, agents[0], user, target.openLoopRates, out);
    await fanOuts(server, plan, agents[0], user, target.fanOutSizes, out);
    // The peak over the loads both servers ran, then the loads only ours runs (higher rates and
    // socket counts), whose peak is reported on its own line.
    out.peakRssMib = memoryOf(server.pid).peakMib;
    await openLoops(server, plan, agents[0], user, target.extraOpenLoopRates ?? [], out);
    await fanOuts(server, plan, agents[0], user, target.extraFanOutSizes ?? [], out);
    out.peakRssWithExtrasMib = memoryOf(server.pid).peakMib;
  } catch (err) {
    err.message += `\n--- ${target.kind} server output ---\n${server.logTail()}`;
    throw err;
  } finally {
    await server.stop();
  }
  return out;
}

/** The bare actix-web ceiling, under the same load as the ping row. */
export async function measureCeiling(start, plan) {
  const ceiling = await start();
  try {
    return await wrk({
      url: ceiling.url,
      paths: ["/ping"],
      connections: 10,
      seconds: plan.seconds,
      workDir: plan.workDir,
      name: "ceiling",
    });
  } finally {
    await ceiling.stop();
  }
}

/**
 * Row 7 (ours; 1.7.2 has no memory search route): top-10 search over `sizes` stored
 * 384-dimension memories of one agent, seeded straight into the SQLite database between runs.
 */
export async function measureSearch(startOurs, plan, sizes) {
  const dataDir = path.join(plan.workDir, "search-data");
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const env = { OPENAI_EMBEDDING_DIMENSIONS: "384" };
  let server = await startOurs({ dataDir, env });
  const agent = await startAgent(server.url, 1);
  const user = randomUUID();
  const channel = await dmChannel(server.url, user, agent);
  await call(server.url, "POST", `/api/messaging/channels/${channel}/messages`, postBody(user, "hello", "http"));
  await server.stop();
  const results = {};
  let stored = 0;
  for (const size of sizes) {
    log(`ours: seeding ${size} memories`);
    const { stdout } = await run("python3", [
      path.join(import.meta.dirname, "seed-memories.py"),
      path.join(dataDir, "eliza.db"),
      agent,
      String(size - stored),
      "384",
      String(size),
    ]);
    stored = Number(stdout.trim());
    server = await startOurs({ dataDir, env });
    try {
      await call(server.url, "POST", `/api/agents/${agent}/start`, {});
      const route = `/api/memory/${agent}/search`;
      const probe = await call(server.url, "POST", route, { query: "hello", limit: 10 });
      if (probe.data.count !== 10) throw new Error(`search found ${probe.data.count} memories, not 10`);
      results[size] = {
        stored,
        ...(await wrk({
          url: server.url,
          paths: [route],
          body: { query: "hello", limit: 10 },
          connections: 1,
          seconds: plan.seconds,
          workDir: plan.workDir,
          name: `search-${size}`,
        })),
      };
    } finally {
      await server.stop();
    }
  }
  return results;
}
