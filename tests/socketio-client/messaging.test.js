// Joining a channel and chatting with an (echo) agent the way the web UI does (API spec §3.3,
// §3.4, §3.5), with both client transport modes.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { TRANSPORTS, connected, join } from "./lib/client.js";
import { DEFAULT_SERVER, createDmChannel, createEchoAgent, startServer, userId } from "./lib/server.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let server;
let agent;
before(async () => {
  server = await startServer();
  assert.ok(
    server.echoAgents(),
    "the server runs no echo agents: build it with `cargo build -p eliza-server --features echo-agents`",
  );
  agent = await createEchoAgent(server);
});
after(async () => {
  await server?.stop();
});

/** SEND_MESSAGE as the web UI emits it in a DM. */
function uiMessage({ me, channelId, text, clientId }) {
  return {
    type: 2,
    payload: {
      senderId: me,
      senderName: "user",
      message: text,
      channelId,
      roomId: channelId,
      messageServerId: DEFAULT_SERVER,
      messageId: clientId,
      source: "client_chat",
      attachments: [],
      metadata: { channelType: "DM", isDm: true, targetUserId: agent },
    },
  };
}

for (const { name, options } of TRANSPORTS) {
  describe(`messaging (${name})`, () => {
    test("join with the UI's message envelope: channel_joined and room_joined", async () => {
      const me = userId();
      const channelId = await createDmChannel(server, me, agent);
      const { socket, recorder } = await connected(server, me, options);
      try {
        socket.emit("message", { type: 1, payload: { channelId, roomId: channelId, entityId: me } });
        const expected = {
          message: `Socket ${socket.id} successfully joined channel ${channelId}.`,
          channelId,
          roomId: channelId,
        };
        assert.deepEqual((await recorder.next("channel_joined")).payload, expected);
        assert.deepEqual((await recorder.next("room_joined")).payload, expected);
      } finally {
        socket.close();
      }
    });

    test('join with event "1" (ROOM_JOINING) and an agentId', async () => {
      const me = userId();
      const channelId = await createDmChannel(server, me, agent);
      const { socket, recorder } = await connected(server, me, options);
      try {
        socket.emit("1", { channelId, agentId: agent, entityId: me });
        const expected = {
          message: `Socket ${socket.id} successfully joined channel ${channelId}.`,
          channelId,
          roomId: channelId,
          agentId: agent,
        };
        assert.deepEqual((await recorder.next("channel_joined")).payload, expected);
        assert.deepEqual((await recorder.next("room_joined")).payload, expected);
      } finally {
        socket.close();
      }
    });

    test("send like the UI: own copy, ack, the agent's echo, messageComplete, enable_input", async () => {
      const me = userId();
      const channelId = await createDmChannel(server, me, agent);
      const sender = await connected(server, me, options);
      const other = userId();
      const watcher = await connected(server, other, options);
      try {
        await join(sender, channelId, me);
        await join(watcher, channelId, other);
        const text = `hello ${randomUUID()}`;
        const clientId = randomUUID();
        sender.socket.emit("message", uiMessage({ me, channelId, text, clientId }));

        // The sender's own copy carries the client's temporary id.
        const own = await sender.recorder.next("messageBroadcast", (p) => p?.senderId === me);
        assert.equal(own.payload.clientMessageId, clientId);
        assert.equal(own.payload.text, text);
        assert.equal(own.payload.channelId, channelId);
        assert.equal(own.payload.roomId, channelId);
        assert.equal(own.payload.messageServerId, DEFAULT_SERVER);
        assert.equal(own.payload.senderName, "user");
        assert.equal(own.payload.source, "client_chat");
        assert.match(own.payload.id, UUID);
        assert.notEqual(own.payload.id, clientId);
        assert.equal(typeof own.payload.createdAt, "number");

        const ack = await sender.recorder.next("messageAck");
        assert.deepEqual(ack.payload, {
          clientMessageId: clientId,
          messageId: own.payload.id,
          status: "received_by_server_and_processing",
          channelId,
          roomId: channelId,
        });
        assert.ok(
          own.index < ack.index,
          `1.7.2 emits the sender's copy before messageAck (API spec §5.1, 2e); got ${sender.recorder.summary()}`,
        );

        // The agent answers in the channel.
        const reply = await sender.recorder.next("messageBroadcast", (p) => p?.senderId === agent);
        assert.equal(reply.payload.text, `echo: ${text}`);
        assert.equal(reply.payload.channelId, channelId);
        assert.equal(reply.payload.roomId, channelId);
        assert.match(reply.payload.id, UUID);

        const complete = await sender.recorder.next("messageComplete", (p) => p?.channelId === channelId);
        assert.equal(complete.payload.roomId, channelId);
        assert.ok(reply.index < complete.index, `order: ${sender.recorder.summary()}`);
        const control = await sender.recorder.next("controlMessage", (p) => p?.action === "enable_input");
        assert.equal(control.payload.channelId ?? control.payload.roomId, channelId);
        assert.ok(reply.index < control.index, `order: ${sender.recorder.summary()}`);

        // The sender got its message once: the copy, not also the room broadcast.
        const mine = sender.recorder.events.filter((e) => e.name === "messageBroadcast" && e.payload?.senderId === me);
        assert.equal(mine.length, 1, `sender broadcasts: ${JSON.stringify(mine.map((e) => e.payload))}`);

        // Another client in the channel sees the message without the sender's client id, then the reply.
        const seen = await watcher.recorder.next("messageBroadcast", (p) => p?.senderId === me);
        assert.equal(seen.payload.text, text);
        assert.equal(seen.payload.id, own.payload.id);
        assert.equal(seen.payload.channelId ?? seen.payload.roomId, channelId);
        assert.ok(!("clientMessageId" in seen.payload), `watcher copy: ${JSON.stringify(seen.payload)}`);
        const echoed = await watcher.recorder.next("messageBroadcast", (p) => p?.senderId === agent);
        assert.equal(echoed.payload.text, `echo: ${text}`);
        assert.ok(!watcher.recorder.events.some((e) => e.name === "messageAck"), "only the sender gets messageAck");
      } finally {
        sender.socket.close();
        watcher.socket.close();
      }
    });

    test('send with event "2" (SEND_MESSAGE): the agent answers', async () => {
      const me = userId();
      const channelId = await createDmChannel(server, me, agent);
      const sender = await connected(server, me, options);
      try {
        await join(sender, channelId, me);
        const text = `event two ${randomUUID()}`;
        sender.socket.emit("2", uiMessage({ me, channelId, text, clientId: randomUUID() }).payload);
        await sender.recorder.next("messageAck");
        const reply = await sender.recorder.next("messageBroadcast", (p) => p?.senderId === agent);
        assert.equal(reply.payload.text, `echo: ${text}`);
      } finally {
        sender.socket.close();
      }
    });

    test("an incomplete SEND_MESSAGE gets messageError", async () => {
      const me = userId();
      const channelId = await createDmChannel(server, me, agent);
      const { socket, recorder } = await connected(server, me, options);
      try {
        // The seed documents' `serverId` is not read: messageServerId is missing.
        socket.emit("message", { type: 2, payload: { senderId: me, message: "hi", channelId, serverId: DEFAULT_SERVER } });
        const error = await recorder.next("messageError");
        assert.deepEqual(error.payload, {
          error:
            "For SEND_MESSAGE: channelId, messageServerId (message_server_id), senderId (author_id), and message are required.",
        });
        assert.equal(socket.connected, true);
      } finally {
        socket.close();
      }
    });
  });
}
