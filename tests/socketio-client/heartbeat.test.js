// The server-driven heartbeat (Engine.IO v4): a client that stops answering pings is closed by
// the server, and the official client reconnects on its own. Runs with a 300 ms ping interval
// and a 200 ms ping timeout (SOCKETIO_PING_INTERVAL_MS, SOCKETIO_PING_TIMEOUT_MS).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TRANSPORTS, WAIT_MS, connected } from "./lib/client.js";
import { startServer, userId } from "./lib/server.js";

const PING_INTERVAL_MS = 300;
const PING_TIMEOUT_MS = 200;

let server;
/** The heartbeat the server announces in its open packet. */
let announced;
before(async () => {
  server = await startServer({
    env: {
      SOCKETIO_PING_INTERVAL_MS: String(PING_INTERVAL_MS),
      SOCKETIO_PING_TIMEOUT_MS: String(PING_TIMEOUT_MS),
    },
  });
  const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
  const response = await fetch(base, { signal: AbortSignal.timeout(WAIT_MS) });
  const text = await response.text();
  assert.equal(response.status, 200, `handshake: ${text}`);
  announced = JSON.parse(text.slice(1));
  // Close the probe session right away.
  await fetch(`${base}&sid=${encodeURIComponent(announced.sid)}`, {
    method: "POST",
    body: "1",
    signal: AbortSignal.timeout(WAIT_MS),
  }).then((r) => r.text());
});
after(async () => {
  await server?.stop();
});

/** Makes an engine.io-client socket swallow its outgoing pongs. */
function dropPongs(engine) {
  const method = typeof engine._sendPacket === "function" ? "_sendPacket" : "sendPacket";
  const send = engine[method];
  assert.equal(typeof send, "function", "engine.io-client internals changed: no (_)sendPacket");
  engine[method] = function (type, ...rest) {
    if (type === "pong") return undefined;
    return send.call(this, type, ...rest);
  };
}

for (const { name, options } of TRANSPORTS) {
  describe(`heartbeat (${name})`, () => {
    test("a client whose pongs are lost is closed by the server and reconnects", async (t) => {
      if (announced.pingInterval !== PING_INTERVAL_MS || announced.pingTimeout !== PING_TIMEOUT_MS) {
        t.todo(
          `the binary does not read SOCKETIO_PING_INTERVAL_MS / SOCKETIO_PING_TIMEOUT_MS yet ` +
            `(announced pingInterval ${announced.pingInterval}, pingTimeout ${announced.pingTimeout})`,
        );
        return;
      }
      const me = userId();
      const { socket, recorder } = await connected(server, me, {
        ...options,
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 100,
        randomizationFactor: 0,
      });
      try {
        const silenced = socket.io.engine;
        dropPongs(silenced);
        const disconnect = await recorder.next("disconnect", () => true, WAIT_MS);
        // A lost transport, not a namespace disconnect (which would not reconnect by itself).
        assert.ok(
          ["transport close", "transport error", "ping timeout"].includes(disconnect.payload),
          `disconnect reason: ${disconnect.payload}`,
        );
        // socket.io-client reconnects by itself, with a new Engine.IO session, and is greeted again.
        const later = (_, event) => event.index > disconnect.index;
        await recorder.next("connect", later, WAIT_MS);
        assert.notEqual(socket.io.engine, silenced);
        await recorder.next("authenticated", (p, event) => later(p, event) && p?.entityId === me, WAIT_MS);
        // The new session answers its pings: it outlives a few heartbeats.
        await new Promise((resolve) => setTimeout(resolve, 3 * (PING_INTERVAL_MS + PING_TIMEOUT_MS)));
        assert.equal(socket.connected, true);
        assert.equal(recorder.events.filter((e) => e.name === "disconnect").length, 1);
      } finally {
        socket.close();
      }
    });
  });
}
