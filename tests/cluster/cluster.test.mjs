// Three eliza-server processes on one PostgreSQL database, for each cross-node backplane
// (PostgreSQL LISTEN/NOTIFY and NATS): a message posted on node A reaches a socket on node C and
// is answered exactly once by the agent node B owns; killing B hands the agent over within the
// lease time, and nothing is answered twice or lost; sessions and jobs are served by every node,
// and requests that need the agent's runtime are forwarded to its owner. Prints the cross-node
// broadcast latency and the failover time.
//
// Needs TEST_DATABASE_URL (a role that may create databases, see scripts/test-postgres), NATS on
// NATS_URL (default nats://127.0.0.1:4222) and the binary built with `--features echo-agents`.
// Uses the socket.io-client of ../socketio-client (npm ci there first).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { after, describe, test } from "node:test";
import { connected, join } from "../socketio-client/lib/client.js";
import { api, DEFAULT_SERVER, startServer } from "../node-support/server.js";

const DATABASE_URL = process.env.TEST_DATABASE_URL;
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const LEASE_TTL_MS = 2_000;
const REPLY_WAIT_MS = 5_000;
/** A dead node's agents must be answering again within this (lease, one tick, a margin). */
const FAILOVER_LIMIT_MS = LEASE_TTL_MS * 2 + 2_000;
const JOINED_NODE = /joined the cluster node=([0-9a-f-]{36})/;

const required = process.env.CI === "true";

function reachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) || 4222 });
    socket.setTimeout(1_000);
    socket.once("connect", () => resolve(socket.end() && true));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => resolve(socket.destroy() && false));
  });
}

/** A fresh database for one cluster, dropped afterwards. */
function createDatabase(name) {
  execFileSync("psql", [DATABASE_URL, "-v", "ON_ERROR_STOP=1", "-qc", `CREATE DATABASE ${name}`]);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

function dropDatabase(name) {
  execFileSync("psql", [DATABASE_URL, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
}

async function expectOk(node, method, route, body, status = 200) {
  const reply = await api(node, method, route, body);
  assert.equal(reply.status, status, `${method} ${route}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

async function eventually(what, check, ms = 5_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

const BACKENDS = [
  { name: "postgres", bus: "postgres" },
  { name: "nats", bus: NATS_URL },
];

for (const backend of BACKENDS) {
  describe(`three nodes on one database, ${backend.name} backplane`, () => {
    const database = `eliza_cluster_${backend.name}_${process.pid}`;
    const nodes = {};
    let skip = null;
    let shared;
    const ownerOf = (agent) =>
      execFileSync("psql", [leaseDatabase(database), "-tAc", `SELECT node_id FROM agent_leases WHERE agent_id = '${agent}'`])
        .toString()
        .trim();

    after(async () => {
      shared?.onC.socket.close();
      await Promise.all(Object.values(nodes).map((node) => node.stop()));
      if (DATABASE_URL) dropDatabase(database);
    });

    async function startNode(name, url, prefix) {
      const node = await startServer({
        env: {
          ELIZA_ECHO_AGENTS: "1",
          DATABASE_URL: url,
          ELIZA_BUS: backend.bus,
          ELIZA_BUS_PREFIX: prefix,
          ELIZA_LEASE_TTL_MS: String(LEASE_TTL_MS),
        },
      });
      node.name = name;
      node.id = JOINED_NODE.exec(node.output())?.[1];
      assert.ok(node.id, `node ${name} did not say it joined the cluster:\n${node.output()}`);
      assert.ok(node.echoAgents(), "build the binary with `--features echo-agents`");
      nodes[name] = node;
      return node;
    }

    test("set-up: three nodes, an agent started on B", async (t) => {
      if (!DATABASE_URL) skip = "TEST_DATABASE_URL is not set";
      else if (backend.name === "nats" && !(await reachable(NATS_URL))) skip = `no NATS at ${NATS_URL}`;
      if (skip) {
        if (required) assert.fail(`required in CI: ${skip}`);
        return t.skip(skip);
      }
      const url = createDatabase(database);
      const prefix = `eliza_test_${randomUUID().slice(0, 8)}`;
      // B first: it runs the migrations; A and C then start at once (racing on nothing).
      await startNode("B", url, prefix);
      await Promise.all([startNode("A", url, prefix), startNode("C", url, prefix)]);
    });

    test("a message posted on A reaches a socket on C and is answered once by B's agent", async (t) => {
      if (skip) return t.skip(skip);
      const { A, B, C } = nodes;
      const created = await expectOk(B, "POST", "/api/agents", { agent: { name: "Owned", bio: ["b"] } }, 201);
      const agent = created.data.id;
      await expectOk(B, "POST", `/api/agents/${agent}/start`, {});
      // Every node sees it running (the lease change is announced).
      for (const node of [A, C]) {
        await eventually(`node ${node.name} to see the agent active`, async () => {
          const { body } = await api(node, "GET", `/api/agents/${agent}`);
          return body?.data?.status === "active";
        });
      }
      const me = randomUUID();
      const channel = await expectOk(A, "POST", "/api/messaging/channels", {
        name: "cluster chat",
        message_server_id: DEFAULT_SERVER,
        participantCentralUserIds: [me, agent],
        type: "DM",
        metadata: { isDm: true },
      }, 201);
      const channelId = channel.data.id;
      const onC = await connected(C, me, { transports: ["websocket"] });
      await join(onC, channelId, me);

      const latencies = [];
      const sent = [];
      for (let i = 0; i < 10; i++) {
        const text = `hello ${i}`;
        const postedAt = Date.now();
        const posted = await postMessage(A, channelId, me, text);
        sent.push(posted.data.id);
        const own = await onC.recorder.next("messageBroadcast", (p) => p?.text === text);
        latencies.push(Date.now() - postedAt);
        const echo = await onC.recorder.next("messageBroadcast", (p) => p?.text === `echo: ${text}`, REPLY_WAIT_MS);
        assert.equal(echo.payload.senderId, agent);
        assert.ok(own.index < echo.index);
      }
      console.log(
        `[${backend.name}] cross-node broadcast, post on A to messageBroadcast on C: ` +
          `p50 ${percentile(latencies, 50)} ms, max ${Math.max(...latencies)} ms (n=${latencies.length})`,
      );
      // B, the owner, answered each message once.
      assert.equal(ownerOf(agent), B.id, "the agent's lease is B's");
      await assertAnsweredOnce(A, channelId, agent, sent);
      shared = { agent, channelId, me, onC, sent };
    });

    test("sessions and jobs made on one node are served by every node", async (t) => {
      if (skip) return t.skip(skip);
      const { A, B, C } = nodes;
      const { agent } = shared;
      const userId = randomUUID();
      const session = await expectOk(A, "POST", "/api/messaging/sessions", { agentId: agent, userId }, 201);
      const sessionPath = `/api/messaging/sessions/${session.sessionId}`;
      await expectOk(C, "POST", `${sessionPath}/messages`, { content: "in a session" }, 201);
      const seen = await expectOk(B, "GET", sessionPath);
      assert.equal(seen.sessionId, session.sessionId);
      assert.equal(seen.channelId, session.channelId);
      assert.ok(Date.parse(seen.lastActivity) >= Date.parse(session.createdAt), JSON.stringify(seen));
      await eventually("the session's reply, read on B", async () => {
        const { body } = await api(B, "GET", `${sessionPath}/messages`);
        return body?.messages?.some((m) => m.content === "echo: in a session");
      });

      const job = await expectOk(A, "POST", "/api/messaging/jobs", { agentId: agent, userId, content: "a job" }, 201);
      const done = await eventually("the job, polled on C, to complete", async () => {
        const { body } = await api(C, "GET", `/api/messaging/jobs/${job.jobId}`);
        return body?.status === "completed" && body;
      }, REPLY_WAIT_MS);
      assert.equal(done.result.message.content, "echo: a job");
      const listed = await expectOk(B, "GET", "/api/messaging/jobs?status=completed");
      assert.ok(listed.jobs.some((j) => j.jobId === job.jobId), JSON.stringify(listed));

      await expectOk(C, "DELETE", sessionPath);
      const gone = await api(A, "GET", sessionPath);
      assert.equal(gone.status, 404, JSON.stringify(gone.body));
    });

    test("a request that needs the agent's runtime is served by the node that owns it", async (t) => {
      if (skip) return t.skip(skip);
      const { A, B, C } = nodes;
      const { agent } = shared;
      const search = `/api/memory/agents/${agent}/search`;
      const direct = await api(B, "POST", search, { query: "hello" });
      assert.equal(direct.headers.get("x-eliza-served-by"), null, "B serves its own agent");
      for (const node of [A, C]) {
        const forwarded = await api(node, "POST", search, { query: "hello" });
        assert.equal(forwarded.headers.get("x-eliza-served-by"), B.id, `${node.name} forwards to B`);
        assert.equal(forwarded.status, direct.status, JSON.stringify(forwarded.body));
        assert.equal(forwarded.body?.error?.code, direct.body?.error?.code);
      }
      // Reads from the store are served where they arrive.
      const read = await api(A, "GET", `/api/memory/${agent}/memories`);
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.headers.get("x-eliza-served-by"), null);
      shared.search = { route: search, status: direct.status };
    });

    test("a character update sent to a node that does not own the agent reaches the running agent", async (t) => {
      if (skip) return t.skip(skip);
      const { A, C } = nodes;
      const { agent, channelId, me, sent } = shared;
      await expectOk(A, "PATCH", `/api/agents/${agent}`, { name: "Renamed" });
      const text = "after the rename";
      const posted = await postMessage(C, channelId, me, text);
      sent.push(posted.data.id);
      const reply = await eventually("the reply of the renamed agent", async () => {
        const { body } = await api(A, "GET", `/api/messaging/central-channels/${channelId}/messages?limit=10`);
        return body?.data?.messages?.find((m) => m.content === `echo: ${text}`);
      }, REPLY_WAIT_MS);
      assert.equal(reply.metadata?.agentName, "Renamed", JSON.stringify(reply));
    });

    test("killing B hands its agent over within the lease time; nothing answered twice or lost", async (t) => {
      if (skip) return t.skip(skip);
      const { A, B, C } = nodes;
      const { agent, channelId, me, onC, sent: before } = shared;
      await B.kill();
      delete nodes.B;
      const killed = Date.now();
      // B's lease is still live: A tries B, cannot reach it and serves the request itself.
      const fallback = await api(A, "POST", shared.search.route, { query: "hello" });
      assert.equal(fallback.headers.get("x-eliza-served-by"), null);
      assert.equal(fallback.status, shared.search.status, JSON.stringify(fallback.body));
      // Posted while the agent has no live owner: queued, answered after the takeover.
      const sent = [];
      for (const [i, node] of [A, C, A].entries()) {
        const text = `while B is down ${i}`;
        const posted = await postMessage(node, channelId, me, text);
        sent.push(posted.data.id);
      }
      for (let i = 0; i < sent.length; i++) {
        await onC.recorder.next("messageBroadcast", (p) => p?.text === `echo: while B is down ${i}`, FAILOVER_LIMIT_MS);
      }
      const failover = Date.now() - killed;
      console.log(`[${backend.name}] failover: kill -9 of the owner to the last queued message answered: ${failover} ms (lease ${LEASE_TTL_MS} ms)`);
      assert.ok(failover <= FAILOVER_LIMIT_MS, `${failover} ms`);
      const owner = ownerOf(agent);
      assert.ok([A.id, C.id].includes(owner), `the new owner ${owner} is A or C`);
      // The new owner answers new messages, once.
      const text = "after the takeover";
      const posted = await postMessage(C, channelId, me, text);
      sent.push(posted.data.id);
      await onC.recorder.next("messageBroadcast", (p) => p?.text === `echo: ${text}`, REPLY_WAIT_MS);
      await assertAnsweredOnce(A, channelId, agent, [...before, ...sent]);
      shared.afterKill = sent;
    });

    test("stopping the agent from a node that does not own it stops it everywhere", async (t) => {
      if (skip) return t.skip(skip);
      const { A, C } = nodes;
      const { agent } = shared;
      const owner = ownerOf(agent);
      const other = owner === A.id ? C : A;
      await expectOk(other, "POST", `/api/agents/${agent}/stop`, {});
      for (const node of [A, C]) {
        await eventually(`node ${node.name} to see the agent stopped`, async () => {
          const { body } = await api(node, "GET", `/api/agents/${agent}`);
          return body?.data?.status === "inactive";
        });
      }
    });

    test("a node paused past its lease does not answer once it resumes (fencing)", async (t) => {
      if (skip) return t.skip(skip);
      const { A, C } = nodes;
      const { agent, channelId, me, onC, sent: before } = shared;
      await expectOk(A, "POST", `/api/agents/${agent}/start`, {});
      assert.equal(ownerOf(agent), A.id);
      A.signal("SIGSTOP");
      const sent = [];
      try {
        await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS));
        const posted = await postMessage(C, channelId, me, "while A is paused");
        sent.push(posted.data.id);
        await onC.recorder.next("messageBroadcast", (p) => p?.text === "echo: while A is paused", FAILOVER_LIMIT_MS);
        assert.equal(ownerOf(agent), C.id, "C took the agent over");
      } finally {
        A.signal("SIGCONT");
      }
      // A wakes up believing it owns the agent: its next tick finds the lease gone and stops it.
      await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS));
      assert.equal(ownerOf(agent), C.id, "the lease stays with C");
      const text = "after A resumed";
      const posted = await postMessage(A, channelId, me, text);
      sent.push(posted.data.id);
      await onC.recorder.next("messageBroadcast", (p) => p?.text === `echo: ${text}`, REPLY_WAIT_MS);
      await assertAnsweredOnce(C, channelId, agent, [...before, ...shared.afterKill, ...sent]);
    });

    test("a clean shutdown hands the agent over at once", async (t) => {
      if (skip) return t.skip(skip);
      const { A, C } = nodes;
      const { agent, channelId, me, onC } = shared;
      assert.equal(ownerOf(agent), C.id);
      // The socket is on C: move it to A, the node that stays.
      onC.socket.close();
      const onA = await connected(A, me, { transports: ["websocket"] });
      shared.onC = onA;
      await join(onA, channelId, me);
      const stopping = Date.now();
      await C.stop();
      delete nodes.C;
      const text = "after C shut down";
      await postMessage(A, channelId, me, text);
      await onA.recorder.next("messageBroadcast", (p) => p?.text === `echo: ${text}`, LEASE_TTL_MS);
      console.log(`[${backend.name}] handover on a clean shutdown: ${Date.now() - stopping} ms from SIGTERM to the answer`);
      assert.equal(ownerOf(agent), A.id);
    });
  });
}

function leaseDatabase(name) {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Posts `text` as the user `me` into the channel, through `node`'s HTTP API; resolves the body. */
function postMessage(node, channelId, me, text) {
  return expectOk(node, "POST", `/api/messaging/central-channels/${channelId}/messages`, {
    author_id: me,
    content: text,
    message_server_id: DEFAULT_SERVER,
    source_type: "eliza_gui",
  }, 201);
}

/** Every message in `sent` has exactly one reply from `agent`, and no reply is extra. */
async function assertAnsweredOnce(node, channelId, agent, sent) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { body } = await api(node, "GET", `/api/messaging/central-channels/${channelId}/messages?limit=100`);
  const messages = body.data.messages;
  const replies = messages.filter((m) => m.authorId === agent);
  const counts = new Map(sent.map((id) => [id, 0]));
  for (const reply of replies) {
    const to = reply.inReplyToRootMessageId;
    assert.ok(counts.has(to), `a reply to an unknown message: ${JSON.stringify(reply)}`);
    counts.set(to, counts.get(to) + 1);
  }
  for (const [id, count] of counts) assert.equal(count, 1, `message ${id} was answered ${count} times`);
}
