// Engine.IO behaviour the official client relies on: the polling → WebSocket upgrade, and
// malformed input closing only the offending session (peers-and-protocols §4.2–4.6).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TRANSPORTS, WAIT_MS, client, connected, once, within } from "./lib/client.js";
import { startServer, userId } from "./lib/server.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A request to the Engine.IO endpoint with a bounded wait. */
async function engine(method, query, body) {
  const response = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling${query}`, {
    method,
    body,
    headers: body === undefined ? {} : { "content-type": "text/plain;charset=UTF-8" },
    signal: AbortSignal.timeout(WAIT_MS),
  });
  return { status: response.status, text: await response.text() };
}

/** Still served: the log subscription answers. */
async function assertAlive({ socket, recorder }, what) {
  assert.equal(socket.connected, true, `${what} is still connected`);
  socket.emit("subscribe_logs");
  await recorder.next("log_subscription_confirmed");
}

/** Text frames of a raw WebSocket, awaitable in order. */
function frames(ws) {
  const queue = [];
  const waiters = [];
  ws.addEventListener("message", (event) => {
    const waiter = waiters.shift();
    if (waiter) waiter(event.data);
    else queue.push(event.data);
  });
  return () =>
    within(
      queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)),
      "a WebSocket frame",
    );
}

/** Opens a raw WebSocket session, connects to `/`, sends `frame`; resolves once the server closes it. */
async function rawSessionClosedBy(what, frame) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  const closed = new Promise((resolve) => ws.addEventListener("close", resolve));
  const next = frames(ws);
  try {
    assert.match(await next(), /^0\{/, "the open packet comes first");
    ws.send(`40${JSON.stringify({ entityId: userId() })}`);
    assert.match(await next(), /^40\{"sid":/);
    ws.send(frame);
    await within(closed, `the server to close the session after ${what}`);
  } finally {
    ws.close();
  }
}

describe("upgrade", () => {
  test("default transports start on polling and upgrade to websocket", async () => {
    const connection = client(server, { auth: { entityId: userId() } });
    const { socket } = connection;
    try {
      const engineSocket = socket.io.engine;
      assert.equal(engineSocket.transport.name, "polling");
      const upgraded = once(engineSocket, "upgrade");
      await connection.recorder.next("connection_established");
      const [transport] = await upgraded;
      assert.equal(transport.name, "websocket");
      assert.equal(socket.io.engine.transport.name, "websocket");
      // Events still flow over the upgraded transport.
      await assertAlive(connection, "the upgraded socket");
    } finally {
      socket.close();
    }
  });
});

describe("malformed input", () => {
  test("a malformed WebSocket packet closes that session only", async (t) => {
    if (typeof globalThis.WebSocket !== "function") {
      t.skip(`node ${process.version} has no global WebSocket (node >= 22, or NODE_OPTIONS=--experimental-websocket)`);
      return;
    }
    const bystanders = await Promise.all(TRANSPORTS.map(({ options }) => connected(server, userId(), options)));
    try {
      const malformed = [
        ["an EVENT whose payload is not an array", '42{"not":"an array"}'],
        ["an EVENT with broken JSON", '42["unterminated'],
        ["an unknown Socket.IO packet type", "49"],
        ["an unknown Engine.IO packet type", "x-not-a-packet"],
      ];
      // One raw session per kind, at the same time.
      await Promise.all(malformed.map(([what, frame]) => rawSessionClosedBy(what, frame)));
      for (const [index, bystander] of bystanders.entries()) {
        await assertAlive(bystander, `the ${TRANSPORTS[index].name} client`);
      }
      // New sessions are still accepted.
      const fresh = await connected(server, userId(), { transports: ["websocket"] });
      fresh.socket.close();
    } finally {
      for (const { socket } of bystanders) socket.close();
    }
  });

  test("a malformed polling body is refused with 400 and closes that session only", async () => {
    const bystanders = await Promise.all(TRANSPORTS.map(({ options }) => connected(server, userId(), options)));
    try {
      const open = await engine("GET", "");
      assert.equal(open.status, 200);
      assert.match(open.text, /^0\{/);
      const { sid } = JSON.parse(open.text.slice(1));
      const query = `&sid=${encodeURIComponent(sid)}`;
      const hello = await engine("POST", query, `40${JSON.stringify({ entityId: userId() })}`);
      assert.deepEqual(hello, { status: 200, text: "ok" });

      const bad = await engine("POST", query, "x-not-a-packet");
      assert.equal(bad.status, 400);
      // The session is gone: its sid is unknown now.
      const after = await engine("GET", query);
      assert.equal(after.status, 400);
      assert.deepEqual(JSON.parse(after.text), { code: 1, message: "Session ID unknown" });

      for (const [index, bystander] of bystanders.entries()) {
        await assertAlive(bystander, `the ${TRANSPORTS[index].name} client`);
      }
    } finally {
      for (const { socket } of bystanders) socket.close();
    }
  });
});
