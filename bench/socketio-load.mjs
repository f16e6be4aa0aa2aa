// Load generator of bench/socketio: N raw WebSocket Socket.IO clients (Engine.IO v4, no polling)
// joined to one channel of a running eliza-server with echo agents. Prints one JSON line:
// how many connected and stayed connected, RSS of the server with 0 and N idle clients, and the
// latency from each HTTP post to the last client receiving its messageBroadcast (and the echo
// agent's reply). Every wait is bounded.
//
// Usage: node bench/socketio-load.mjs <base-url> <server-pid> <clients> [posts] [hold-ms]

import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { call } from "./compare.d/api.mjs";

// `ws` comes with socket.io-client in the interop suite (`npm ci` in tests/socketio-client).
const require = createRequire(new URL("../tests/socketio-client/package.json", import.meta.url));
const WebSocket = require("ws");

const [base, pidText, clientsText, postsText = "100", holdText = "12000"] = process.argv.slice(2);
if (!base || !pidText || !clientsText) {
  console.error("usage: socketio-load.mjs <base-url> <server-pid> <clients> [posts] [hold-ms]");
  process.exit(2);
}
const PID = Number(pidText);
const CLIENTS = Number(clientsText);
const POSTS = Number(postsText);
const HOLD_MS = Number(holdText);
const BATCH = 250; // connections opened at once
const JOIN_TIMEOUT_MS = 20_000;
const POST_TIMEOUT_MS = 15_000;
const SETTLE_MS = 1_000;
const GAP_MS = 100; // between posts, so one post's events do not overlap the next
const SERVER = "00000000-0000-0000-0000-000000000000";

function rssKib() {
  const status = readFileSync(`/proc/${PID}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** CPU time of the server process so far (user + system), in ms; clock ticks of 10 ms. */
function serverCpuMs() {
  const stat = readFileSync(`/proc/${PID}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
}

/** The API call of bench/compare, on this run's server. */
const api = (method, route, body) => call(base, method, route, body);

/** A started echo agent and a group channel of it and the poster. */
async function setup() {
  const agent = (await api("POST", "/api/agents", { agent: { name: "Bench", bio: ["bench"] } })).data.id;
  await api("POST", `/api/agents/${agent}/start`, {});
  const poster = randomUUID();
  const channel = (
    await api("POST", "/api/messaging/channels", {
      name: "bench",
      message_server_id: SERVER,
      participantCentralUserIds: [poster, agent],
    })
  ).data.id;
  return { channel, poster };
}

/** Current post's markers and what to call when a client sees them. */
let watch = null;

/** Opens one client and joins it; resolves the client, with `joined` false on failure. */
function openClient(wsUrl, channel) {
  return new Promise((resolve) => {
    const entityId = randomUUID();
    const client = { joined: false, closed: false, sawUser: -1, sawReply: -1, ws: null };
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    client.ws = ws;
    const done = (joined) => {
      clearTimeout(timer);
      client.joined = joined;
      resolve(client);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done(false);
    }, JOIN_TIMEOUT_MS);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === "2") return ws.send("3");
      if (client.joined) {
        if (watch !== null) watch.onText(client, text);
        return;
      }
      if (text.startsWith("0{")) ws.send("40" + JSON.stringify({ entityId }));
      else if (text.startsWith("40{")) {
        const join = { type: 1, payload: { channelId: channel, roomId: channel, entityId } };
        ws.send("42" + JSON.stringify(["message", join]));
      } else if (text.startsWith('42["channel_joined"')) done(true);
      else if (text.startsWith("44")) {
        ws.terminate();
        done(false);
      }
    });
    ws.on("close", () => {
      client.closed = true;
      if (!client.joined) done(false);
    });
    ws.on("error", () => {}); // "close" follows
  });
}

async function openAll(wsUrl, channel) {
  const clients = [];
  while (clients.length < CLIENTS) {
    const batch = Math.min(BATCH, CLIENTS - clients.length);
    const opened = await Promise.all(Array.from({ length: batch }, () => openClient(wsUrl, channel)));
    clients.push(...opened);
  }
  return clients;
}

/** Posts one message; resolves ms to the last client's user broadcast and echo reply (or null). */
async function timedPost(k, live, channel, poster) {
  const text = `bench-${k}-${randomUUID()}`;
  const userMarker = `"text":${JSON.stringify(text)}`;
  const replyMarker = `"text":${JSON.stringify(`echo: ${text}`)}`;
  let users = 0;
  let replies = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const t0 = performance.now();
  const result = { user: null, reply: null, answered: null };
  watch = {
    onText(client, frame) {
      if (!frame.startsWith('42["messageBroadcast"')) return;
      if (client.sawUser !== k && frame.includes(userMarker)) {
        client.sawUser = k;
        if (++users === live) result.user = performance.now() - t0;
      } else if (client.sawReply !== k && frame.includes(replyMarker)) {
        client.sawReply = k;
        if (++replies === live) result.reply = performance.now() - t0;
      }
      if (users === live && replies === live) finish();
    },
  };
  const timer = setTimeout(finish, POST_TIMEOUT_MS);
  await api("POST", `/api/messaging/channels/${channel}/messages`, { author_id: poster, content: text });
  result.answered = performance.now() - t0;
  await finished;
  clearTimeout(timer);
  watch = null;
  result.usersReached = users;
  result.repliesReached = replies;
  return result;
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const { channel, poster } = await setup();
  await sleep(SETTLE_MS);
  const rss0 = rssKib();
  const wsUrl = base.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";

  const t0 = performance.now();
  const clients = await openAll(wsUrl, channel);
  const openMs = performance.now() - t0;
  const joined = clients.filter((c) => c.joined);
  // Idle: only the heartbeat runs (the bench sets a short ping interval so it does).
  await sleep(HOLD_MS);
  const held = joined.filter((c) => !c.closed).length;
  const rssIdle = rssKib();

  const live = held;
  const user = [];
  const reply = [];
  const answered = [];
  let incomplete = 0;
  const serverCpu0 = serverCpuMs();
  const clientCpu0 = process.cpuUsage();
  const postsStart = performance.now();
  for (let k = 0; k < POSTS; k++) {
    const r = await timedPost(k, live, channel, poster);
    if (r.user === null || r.reply === null) incomplete++;
    if (r.user !== null) user.push(r.user);
    if (r.reply !== null) reply.push(r.reply);
    answered.push(r.answered);
    await sleep(GAP_MS);
  }
  const postsWall = performance.now() - postsStart - POSTS * GAP_MS;
  const serverCpu = serverCpuMs() - serverCpu0;
  const clientUsage = process.cpuUsage(clientCpu0);
  const clientCpu = (clientUsage.user + clientUsage.system) / 1000;
  const heldAfterPosts = joined.filter((c) => !c.closed).length;

  for (const c of clients) c.ws.terminate();
  await sleep(SETTLE_MS);
  const rssAfter = rssKib();

  const round = (v) => (v === null ? null : Math.round(v * 10) / 10);
  console.log(
    JSON.stringify({
      clients: CLIENTS,
      joined: joined.length,
      held,
      heldAfterPosts,
      holdMs: HOLD_MS,
      openMs: Math.round(openMs),
      rss0Kib: rss0,
      rssIdleKib: rssIdle,
      rssAfterKib: rssAfter,
      perConnKib: round((rssIdle - rss0) / Math.max(1, held)),
      posts: POSTS,
      incomplete,
      answeredMedianMs: round(percentile(answered, 50)),
      serverCpuMsPerPost: round(serverCpu / POSTS),
      clientCpuMsPerPost: round(clientCpu / POSTS),
      busyWallMsPerPost: round(postsWall / POSTS),
      userMedianMs: round(percentile(user, 50)),
      userP99Ms: round(percentile(user, 99)),
      replyMedianMs: round(percentile(reply, 50)),
      replyP99Ms: round(percentile(reply, 99)),
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
