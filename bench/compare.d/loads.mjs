// The bounded loads: wrk runs (closed loop, fixed connections and duration), the open-loop
// poster and the Socket.IO fan-out. Every load is bounded in time and in requests.

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createRequire } from "node:module";
import { call, channelMessages, postBody } from "./api.mjs";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const WebSocket = require("ws");

/** wrk's summary line, written by every script below. */
const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d %d\\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
`;

function luaString(text) {
  return `[==[${text}]==]`;
}

/** A script that POSTs `body` to `paths[i]` from wrk thread i (one channel per connection). */
function postScript(paths, body) {
  return `
local paths = {${paths.map(luaString).join(",")}}
local body = ${luaString(JSON.stringify(body))}
local n = 0
setup = function(thread) n = n + 1; thread:set("target", paths[n]) end
request = function()
  return wrk.format("POST", target, {["Content-Type"] = "application/json"}, body)
end
${REPORT}`;
}

/**
 * Runs wrk against `url + paths[0]` (GET) or, with `body`, POSTs to each path from its own thread.
 * Resolves {requests, rps, p50Ms, p99Ms, non2xx, socketErrors}.
 */
export async function wrk({ url, paths, body, connections, seconds, workDir, name }) {
  const script = path.join(workDir, `${name}.lua`);
  writeFileSync(script, body === undefined ? REPORT : postScript(paths, body));
  const threads = body === undefined ? 1 : connections;
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--timeout", "30s", "-s", script, url + paths[0]];
  const { stdout } = await run("wrk", args, { maxBuffer: 1 << 20, timeout: (seconds + 60) * 1000 });
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`wrk printed no result for ${name}:\n${stdout}`);
  const [requests, rps, p50Ms, p99Ms, non2xx, socketErrors] = line.split(" ").slice(1).map(Number);
  return { requests, rps, p50Ms, p99Ms, non2xx, socketErrors };
}

export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Open loop: `rate` posts per second for `seconds` with the default (websocket) transport, one
 * DM channel per post, then the time from the last send until the last agent reply is stored
 * (the reply's own `created_at`, so the polling interval does not count).
 */
export async function openLoop({ base, user, agent, channels, rate, seconds }) {
  const total = Math.min(channels.length, Math.round(rate * seconds));
  const latencies = [];
  const codes = {};
  const pending = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const started = performance.now();
    pending.push(
      fetch(`${base}/api/messaging/channels/${channels[i]}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(postBody(user, `Hello BenchAgent (open loop ${i})`)),
        signal: AbortSignal.timeout(30_000),
      }).then(
        async (response) => {
          await response.arrayBuffer();
          latencies.push(performance.now() - started);
          codes[response.status] = (codes[response.status] ?? 0) + 1;
        },
        () => (codes.error = (codes.error ?? 0) + 1),
      ),
    );
  }
  const lastSendEpochMs = Date.now();
  await Promise.all(pending);
  const drain = await waitForReplies({ base, agent, channels: channels.slice(0, total), since: lastSendEpochMs });
  return { sent: total, codes, postP50Ms: percentile(latencies, 50), postP99Ms: percentile(latencies, 99), ...drain };
}

/** Polls the channels until each holds an agent reply (at most 180 s). */
async function waitForReplies({ base, agent, channels, since }) {
  const pending = new Set(channels);
  let lastReplyEpochMs = since;
  const deadline = performance.now() + 180_000;
  while (pending.size > 0 && performance.now() < deadline) {
    const batch = [...pending];
    for (let i = 0; i < batch.length; i += 16) {
      await Promise.all(
        batch.slice(i, i + 16).map(async (channel) => {
          const reply = (await channelMessages(base, channel, 10)).find((m) => m.authorId === agent);
          if (!reply) return;
          pending.delete(channel);
          lastReplyEpochMs = Math.max(lastReplyEpochMs, Number(reply.created_at ?? Date.parse(reply.createdAt)));
        }),
      );
    }
    if (pending.size > 0) await sleep(250);
  }
  return {
    replies: channels.length - pending.size,
    lastReplyAfterLastSendMs: pending.size === 0 ? lastReplyEpochMs - since : null,
  };
}

/** Opens one raw Engine.IO v4 / Socket.IO v5 WebSocket client and joins `channel`. */
function joinClient(wsUrl, channel, onBroadcast) {
  return new Promise((resolve) => {
    const entityId = randomUUID();
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    const client = { ws, joined: false };
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(client);
    }, 30_000);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === "2") return ws.send("3");
      if (client.joined) {
        if (text.startsWith('42["messageBroadcast"')) onBroadcast(client, text);
        return;
      }
      if (text.startsWith("0{")) ws.send("40" + JSON.stringify({ entityId }));
      else if (text.startsWith("40")) {
        const payload = { channelId: channel, roomId: channel, entityId, messageServerId: "00000000-0000-0000-0000-000000000000" };
        ws.send("42" + JSON.stringify(["message", { type: 1, payload }]));
      } else if (text.startsWith('42["channel_joined"')) {
        client.joined = true;
        clearTimeout(timer);
        resolve(client);
      }
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      clearTimeout(timer);
      resolve(client);
    });
  });
}

/**
 * Socket.IO fan-out: `clients` sockets join one channel; each of `posts` messages is posted over
 * HTTP and timed to every socket's `messageBroadcast` of it. Latencies of all sockets and posts
 * are pooled for the percentiles.
 */
export async function fanOut({ base, channel, user, clients, posts, gapMs }) {
  const wsUrl = base.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
  let current = null;
  // A socket counts once per post, whatever else the server sends it.
  const onBroadcast = (client, text) => {
    if (!current || client.lastPost === current.k || !text.includes(current.marker)) return;
    client.lastPost = current.k;
    current.seen(performance.now() - current.t0);
  };
  const opened = [];
  for (let i = 0; i < clients; i += 250) {
    const batch = Math.min(250, clients - i);
    opened.push(...(await Promise.all(Array.from({ length: batch }, () => joinClient(wsUrl, channel, onBroadcast)))));
  }
  const joined = opened.filter((c) => c.joined).length;
  const latencies = [];
  let incomplete = 0;
  for (let k = 0; k < posts && joined > 0; k++) {
    const marker = `fanout-${k}-${randomUUID()}`;
    let count = 0;
    let finish;
    const done = new Promise((resolve) => (finish = resolve));
    current = {
      k,
      marker,
      t0: performance.now(),
      seen(ms) {
        latencies.push(ms);
        if (++count === joined) finish();
      },
    };
    const timer = setTimeout(finish, 20_000);
    await call(base, "POST", `/api/messaging/channels/${channel}/messages`, postBody(user, marker));
    await done;
    clearTimeout(timer);
    if (count < joined) incomplete++;
    current = null;
    await sleep(gapMs);
  }
  for (const c of opened) c.ws.terminate();
  return { clients, joined, posts, incomplete, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
