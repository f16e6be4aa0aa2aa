// api-client `memory` service (API spec §2.2, and §2.3.3 for the group-chat aliases). Each edit or
// delete has a conversation of its own; clearAgentMemories empties the agent, so it runs last.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { api } from "../node-support/server.js";
import {
  agentMemories,
  awaitChannelMemories,
  channelMessages,
  conversation,
  createMessageServer,
  createRoom,
  createRunningAgent,
  createWorld,
  storedMessage,
  uniqueName,
  userId,
} from "./lib/fixtures.js";
import { methodTest } from "./lib/recording.js";
import {
  assertArray,
  assertMemory,
  assertNumber,
  assertObject,
  assertRoom,
  assertSuccess,
  assertUuid,
} from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";

/** The conversations the tests use, one each so that edits and deletes do not meet. */
const CHATS = ["read", "update", "delete", "clearRoom", "clearAllInternal"];

const suite = useSuite(async (target) => {
  const agentId = await createRunningAgent(target, uniqueName("Conformance Memory"));
  const user = userId();
  const chats = {};
  await Promise.all(
    CHATS.map(async (name) => {
      const chat = await conversation(target, user, agentId);
      // The agent stores the user's message and its reply.
      const memories = await awaitChannelMemories(target, agentId, chat.channel.id, 2);
      chats[name] = { ...chat, memories, roomId: memories[0].roomId };
    }),
  );
  return { agentId, user, chats };
});

/** The agent's memories of one of its rooms. */
const roomMemories = (roomId) => agentMemories(suite.target, suite.agentId, { roomId });

/** A message of the user in a new group channel with the agent: `{channel, message}`. */
const groupMessage = () => storedMessage(suite.target, [suite.user, suite.agentId]);

/**
 * An update's answer and effect. Typed `Memory`; 1.7.2 answers `data: {id, message}` (spec §2.2),
 * which the client returns, so a drop-in keeps it. The stored memory must hold the new text.
 */
async function assertUpdated(reply, memoryId, text, roomId) {
  const stored = (await roomMemories(roomId)).find((known) => known.id === memoryId);
  assert.equal(stored?.content?.text, text, "the stored memory has the new text");
  assertObject(reply, "reply");
  assert.equal(reply.id, memoryId, "reply.id");
  assert.equal(reply.message, "Memory updated successfully", "reply.message");
}

/**
 * A memory delete's answer: typed `{success}`, while the client returns the envelope's data,
 * 1.7.2's `{message}` (client typing bug: the type describes the envelope).
 */
function assertMemoryDeleted(reply) {
  assertObject(reply, "reply");
  assert.equal(reply.message, "Memory deleted successfully", "reply.message");
}

methodTest("memory.getAgentMemories", "{memories: Memory[]} of the agent", async () => {
  const { memories } = await suite.client.memory.getAgentMemories(suite.agentId);
  assertArray(memories, "memories");
  memories.forEach((memory, i) => assertMemory(memory, `memories[${i}]`));
  assert.ok(
    memories.every((memory) => memory.agentId === suite.agentId),
    "all the agent's",
  );
  const ids = memories.map((memory) => memory.id);
  assert.ok(
    suite.chats.read.memories.every((memory) => ids.includes(memory.id)),
    "the conversation's memories are listed",
  );
});

methodTest("memory.getRoomMemories", "{memories: Memory[]} of the channel's room", async () => {
  const { chats } = suite;
  const { memories } = await suite.client.memory.getRoomMemories(suite.agentId, chats.read.channel.id, { limit: 50 });
  assertArray(memories, "memories");
  memories.forEach((memory, i) => assertMemory(memory, `memories[${i}]`));
  assert.ok(
    memories.every((memory) => memory.roomId === chats.read.roomId),
    "all of the channel's room",
  );
  const texts = memories.map((memory) => memory.content?.text);
  assert.ok(texts.includes(chats.read.userMessage.content), "the user's message");
  assert.ok(texts.includes(chats.read.reply.content), "the agent's reply");
});

methodTest("memory.getAgentInternalMemories", "the data {memories: Memory[]} of the channel's room", async () => {
  // Client typing bug: the type describes the envelope. Typed `{success, data: Memory[]}`, while
  // the client returns the data of getRoomMemories' route (the same one): `{memories: Memory[]}`.
  const { chats } = suite;
  const reply = await suite.client.memory.getAgentInternalMemories(suite.agentId, chats.read.channel.id, false);
  assertObject(reply, "reply");
  assertArray(reply.memories, "memories");
  reply.memories.forEach((memory, i) => assertMemory(memory, `memories[${i}]`));
  assert.ok(
    reply.memories.every((memory) => memory.roomId === chats.read.roomId),
    "all of the channel's room",
  );
  const ids = reply.memories.map((memory) => memory.id);
  assert.ok(
    chats.read.memories.every((memory) => ids.includes(memory.id)),
    "the conversation's memories",
  );
});

methodTest("memory.listAgentRooms", "{rooms: Room[]} with the conversation's room", async () => {
  const { rooms } = await suite.client.memory.listAgentRooms(suite.agentId);
  assertArray(rooms, "rooms");
  rooms.forEach((room, i) => assertRoom(room, `rooms[${i}]`));
  assert.ok(
    rooms.some((room) => room.id === suite.chats.read.roomId),
    "the conversation's room is listed",
  );
});

methodTest("memory.getRoom", "the Room", async () => {
  const room = await suite.client.memory.getRoom(suite.agentId, suite.chats.read.roomId);
  assertRoom(room);
  assert.equal(room.id, suite.chats.read.roomId);
  assert.equal(room.agentId, suite.agentId);
});

methodTest("memory.createRoom", "the Room created", async () => {
  const params = { name: uniqueName("Room"), type: "GROUP", metadata: { purpose: "conformance" } };
  const room = await suite.client.memory.createRoom(suite.agentId, params);
  assertRoom(room);
  assert.equal(room.name, params.name);
  assert.equal(room.agentId, suite.agentId);
  assert.equal(room.type, "GROUP");
});

methodTest("memory.updateMemory", "1.7.2's {id, message}; the memory holds the new text", async () => {
  const { roomId, memories } = suite.chats.update;
  const text = `edited ${randomUUID()}`;
  const reply = await suite.client.memory.updateMemory(suite.agentId, memories[0].id, { content: { text } });
  await assertUpdated(reply, memories[0].id, text, roomId);
});

methodTest("memory.updateAgentInternalMemory", "1.7.2's {id, message}; the memory holds the new text", async () => {
  const { roomId, memories } = suite.chats.update;
  const text = `edited ${randomUUID()}`;
  const reply = await suite.client.memory.updateAgentInternalMemory(suite.agentId, memories[1].id, {
    content: { text },
    metadata: { edited: true },
  });
  await assertUpdated(reply, memories[1].id, text, roomId);
});

methodTest("memory.deleteMemory", "the data {message}; the memory is gone", async () => {
  const { roomId, memories } = suite.chats.delete;
  const reply = await suite.client.memory.deleteMemory(suite.agentId, memories[0].id);
  assert.ok(!(await roomMemories(roomId)).some((memory) => memory.id === memories[0].id));
  assertMemoryDeleted(reply);
});

methodTest("memory.deleteAgentInternalMemory", "the data {message}; the memory is gone", async () => {
  const { roomId, memories } = suite.chats.delete;
  const reply = await suite.client.memory.deleteAgentInternalMemory(suite.agentId, memories[1].id);
  assert.ok(!(await roomMemories(roomId)).some((memory) => memory.id === memories[1].id));
  assertMemoryDeleted(reply);
});

methodTest("memory.clearRoomMemories", "1.7.2's 204 ({success: true}); the room has no memories", async () => {
  // Typed `{deleted: number}`; 1.7.2 answers 204 (spec §2.2), which the client turns into
  // {success: true}. A drop-in keeps the 204.
  const { roomId } = suite.chats.clearRoom;
  const reply = await suite.client.memory.clearRoomMemories(suite.agentId, roomId);
  assert.deepEqual(await roomMemories(roomId), []);
  assertSuccess(reply, "reply");
});

methodTest("memory.deleteAllAgentInternalMemories", "{success: true}; the room has no memories", async () => {
  const { roomId } = suite.chats.clearAllInternal;
  const reply = await suite.client.memory.deleteAllAgentInternalMemories(suite.agentId, roomId);
  assert.deepEqual(await roomMemories(roomId), []);
  assertSuccess(reply, "reply");
});

methodTest("memory.createWorldFromMessageServer", "{worldId}", async () => {
  // The client names no agents: the world gets a room for each running agent.
  const server = await createMessageServer(suite.target);
  const params = { messageServerId: server.id, name: uniqueName("World"), description: "from a message server" };
  const reply = await suite.client.memory.createWorldFromMessageServer(server.id, params);
  assertObject(reply, "reply");
  assertUuid(reply.worldId, "worldId");
});

methodTest("memory.deleteWorld", "{success: true}; the world's rooms are gone", async () => {
  const world = await createWorld(suite.target, suite.agentId);
  const room = await createRoom(suite.target, suite.agentId, { worldId: world.id });
  const reply = await suite.client.memory.deleteWorld(world.id);
  assert.equal((await api(suite.target, "GET", `/api/memory/${suite.agentId}/rooms/${room.id}`)).status, 404);
  assertSuccess(reply, "reply");
});

methodTest("memory.clearWorldMemories", "1.7.2's 204 ({success: true})", async () => {
  // Typed `{deleted: number}`; 1.7.2 answers 204 (spec §2.2). A drop-in keeps the 204.
  const world = await createWorld(suite.target, suite.agentId);
  await createRoom(suite.target, suite.agentId, { worldId: world.id });
  assertSuccess(await suite.client.memory.clearWorldMemories(world.id), "reply");
});

methodTest("memory.deleteGroupMemory", "{success: true}; the channel message is gone", async () => {
  const { channel, message } = await groupMessage();
  const reply = await suite.client.memory.deleteGroupMemory(channel.id, message.id);
  assert.ok(!(await channelMessages(suite.target, channel.id)).some((known) => known.id === message.id));
  assertSuccess(reply, "reply");
});

methodTest("memory.clearGroupChat", "{success: true}; the channel is empty", async () => {
  const { channel } = await groupMessage();
  const reply = await suite.client.memory.clearGroupChat(channel.id);
  assert.deepEqual(await channelMessages(suite.target, channel.id), []);
  assertSuccess(reply, "reply");
});

methodTest("memory.clearAgentMemories", "{deleted}; the agent has no memories left", async () => {
  const reply = await suite.client.memory.clearAgentMemories(suite.agentId);
  assertObject(reply, "reply");
  assertNumber(reply.deleted, "deleted");
  assert.ok(reply.deleted >= 2, `the read conversation's memories at least, deleted: ${reply.deleted}`);
  assert.deepEqual(await agentMemories(suite.target, suite.agentId), []);
});
