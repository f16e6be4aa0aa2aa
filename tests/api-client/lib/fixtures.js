// Fixtures made with raw HTTP calls in 1.7.2's own request format (API spec §2), so they work
// against the reference and ours alike and never depend on a client method under test.

import { randomUUID } from "node:crypto";
import { DEFAULT_SERVER, api } from "../../node-support/server.js";

export { DEFAULT_SERVER } from "../../node-support/server.js";

/** The plugins the reference needs to run an agent on the fake model (reference-server.md). */
export const PLUGINS = ["@elizaos/plugin-sql", "@elizaos/plugin-openai", "@elizaos/plugin-bootstrap"];

/** How long an agent may take to reply (the fake model answers at once; the reference in ~0.2 s). */
export const REPLY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 100;

/** A fresh user id (users are not registered anywhere). */
export const userId = () => randomUUID();

/** A name no earlier run used: agent ids derive from names (spec §1.6). */
export const uniqueName = (prefix) => `${prefix} ${randomUUID().slice(0, 8)}`;

/** A raw call that must answer `status`; resolves the parsed body. */
export async function expectStatus(target, method, route, body, status) {
  const reply = await api(target, method, route, body);
  if (reply.status !== status) {
    throw new Error(
      `fixture ${method} ${route}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`,
    );
  }
  return reply.body;
}

/** Polls `probe` until it resolves something truthy; rejects after `timeoutMs` naming `what`. */
export async function eventually(what, probe, timeoutMs = REPLY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The character JSON of a test agent that answers through the fake model. */
export function character(name) {
  return {
    name,
    bio: [`${name} answers every message with a fixed text.`],
    plugins: PLUGINS,
    settings: { secrets: {} },
  };
}

/** Creates an agent (not started); resolves its id. */
export async function createAgent(target, name = uniqueName("Conformance")) {
  const created = await expectStatus(target, "POST", "/api/agents", { characterJson: character(name) }, 201);
  return created.data.id;
}

/** Creates and starts an agent; resolves its id. */
export async function createRunningAgent(target, name) {
  const id = await createAgent(target, name);
  await expectStatus(target, "POST", `/api/agents/${id}/start`, undefined, 200);
  return id;
}

/** A DM channel between `user` and `agent` on the default server, as the web UI creates one. */
export async function createDmChannel(target, user, agent, name = uniqueName("DM")) {
  const body = {
    name,
    type: "DM",
    message_server_id: DEFAULT_SERVER,
    participantCentralUserIds: [user, agent],
    metadata: { isDm: true, user1: user, user2: agent, forAgent: agent },
  };
  return (await expectStatus(target, "POST", "/api/messaging/channels", body, 201)).data;
}

/** A group channel on the default server with `participants`. */
export async function createGroupChannel(target, participants, name = uniqueName("Group")) {
  const body = { name, type: "GROUP", message_server_id: DEFAULT_SERVER, participantCentralUserIds: participants };
  return (await expectStatus(target, "POST", "/api/messaging/channels", body, 201)).data;
}

/** The messages of a channel, newest first. */
export async function channelMessages(target, channelId) {
  return (await expectStatus(target, "GET", `/api/messaging/channels/${channelId}/messages?limit=100`, undefined, 200))
    .data.messages;
}

/**
 * Posts `text` from `user` into the DM `channelId` (1.7.2's body, websocket transport: the agent
 * answers in the background) and waits for the agent's stored reply. Resolves `{userMessage, reply}`.
 */
export async function converse(target, { channelId, user, agent, text = `hello ${randomUUID()}` }) {
  const body = {
    author_id: user,
    content: text,
    message_server_id: DEFAULT_SERVER,
    source_type: "eliza_gui",
    metadata: { isDm: true, channelType: "DM", targetUserId: agent, user_display_name: "user" },
  };
  const posted = await expectStatus(target, "POST", `/api/messaging/channels/${channelId}/messages`, body, 201);
  const userMessage = posted.userMessage;
  const reply = await eventually(`the agent's reply to "${text}" in channel ${channelId}`, async () =>
    (await channelMessages(target, channelId)).find(
      (message) => message.authorId === agent && message.inReplyToRootMessageId === userMessage.id,
    ),
  );
  return { userMessage, reply };
}

/** A DM channel with one finished exchange in it: `{channel, userMessage, reply}`. */
export async function conversation(target, user, agent) {
  const channel = await createDmChannel(target, user, agent);
  return { channel, ...(await converse(target, { channelId: channel.id, user, agent })) };
}

/** Stores a message in a channel without any agent answering it (`/submit`, 1.7.2's body). */
export async function submitMessage(target, { channelId, authorId, content, sourceType = "api_client_fixture" }) {
  const body = {
    channel_id: channelId,
    message_server_id: DEFAULT_SERVER,
    author_id: authorId,
    content,
    source_type: sourceType,
    raw_message: { text: content },
  };
  return (await expectStatus(target, "POST", "/api/messaging/submit", body, 201)).data;
}

/** A message of `participants[0]` in a new group channel of `participants`: `{channel, message}`. */
export async function storedMessage(target, participants, content = `stored ${randomUUID()}`) {
  const channel = await createGroupChannel(target, participants);
  const message = await submitMessage(target, { channelId: channel.id, authorId: participants[0], content });
  return { channel, message };
}

/** The agent's memories (`messages` table), optionally of one agent room. */
export async function agentMemories(target, agentId, { roomId } = {}) {
  const query = roomId ? `?roomId=${roomId}` : "";
  return (await expectStatus(target, "GET", `/api/memory/${agentId}/memories${query}`, undefined, 200)).data.memories;
}

/** The agent's memories of one central channel (the server maps the channel to its room). */
export async function channelMemories(target, agentId, channelId) {
  const route = `/api/memory/${agentId}/rooms/${channelId}/memories?limit=100`;
  return (await expectStatus(target, "GET", route, undefined, 200)).data.memories;
}

/** Waits until the agent has stored at least `count` memories of `channelId`; resolves them. */
export async function awaitChannelMemories(target, agentId, channelId, count) {
  return eventually(`${count} memories of channel ${channelId}`, async () => {
    const memories = await channelMemories(target, agentId, channelId);
    return memories.length >= count && memories;
  });
}

/** A world of the agent (1.7.2's `{name}` body); resolves the world. */
export async function createWorld(target, agentId, name = uniqueName("World")) {
  return (await expectStatus(target, "POST", `/api/agents/${agentId}/worlds`, { name }, 201)).data.world;
}

/** A room of the agent, in `worldId` when given; resolves the room. */
export async function createRoom(target, agentId, { name = uniqueName("Room"), worldId } = {}) {
  const body = { name, ...(worldId ? { worldId } : {}) };
  return (await expectStatus(target, "POST", `/api/memory/${agentId}/rooms`, body, 201)).data;
}

/** A message server of its own (for the destructive server tests). */
export async function createMessageServer(target, name = uniqueName("Server")) {
  const body = { name, sourceType: "api-client-conformance" };
  return (await expectStatus(target, "POST", "/api/messaging/message-servers", body, 201)).data.server;
}

/** The channel's participants (1.7.2: a plain array of ids). */
export async function participants(target, channelId) {
  return (await expectStatus(target, "GET", `/api/messaging/channels/${channelId}/participants`, undefined, 200)).data;
}
