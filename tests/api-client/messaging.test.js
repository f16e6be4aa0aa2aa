// api-client `messaging` service (API spec §2.3.1–§2.3.3). Destructive methods (deletes, clears)
// work on channels, messages and servers of their own.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { api } from "../node-support/server.js";
import {
  DEFAULT_SERVER,
  channelMessages,
  conversation,
  createDmChannel,
  createGroupChannel,
  createMessageServer,
  createRunningAgent,
  expectStatus,
  participants,
  storedMessage,
  submitMessage,
  uniqueName,
  userId,
} from "./lib/fixtures.js";
import { methodTest } from "./lib/recording.js";
import {
  assertArray,
  assertChannel,
  assertMessage,
  assertMessageServer,
  assertNonEmptyString,
  assertObject,
  assertSuccess,
  assertUuid,
} from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";

const suite = useSuite(async (target) => {
  const agentId = await createRunningAgent(target, uniqueName("Conformance Messaging"));
  const user = userId();
  return { agentId, user, chat: await conversation(target, user, agentId) };
});

/** A group channel of the fixture user and agent. */
const groupChannel = () => createGroupChannel(suite.target, [suite.user, suite.agentId]);

/** A message of the user in a new group channel with the agent: `{channel, message}`. */
const groupMessage = (content) => storedMessage(suite.target, [suite.user, suite.agentId], content);

/**
 * updateChannel and the participant methods that call it are typed `{success, data:
 * MessageChannel}`, while the client returns the envelope's data, the MessageChannel (client
 * typing bug: the type describes the envelope).
 */
function assertChannelUpdate(channel, channelId) {
  assertChannel(channel, "reply");
  assert.equal(channel.id, channelId, "reply.id");
}

/**
 * addAgentToChannel and removeAgentFromChannel are typed `{success}`, while the client returns the
 * envelope's data, 1.7.2's `{channelId, agentId, message}` (client typing bug: the type describes
 * the envelope).
 */
function assertChannelAgent(reply, channelId, message) {
  assertObject(reply, "reply");
  assert.equal(reply.channelId, channelId, "reply.channelId");
  assert.equal(reply.agentId, suite.agentId, "reply.agentId");
  assert.equal(reply.message, message, "reply.message");
}

methodTest("messaging.getCurrentMessageServer", "{messageServerId}: the default server", async () => {
  assert.deepEqual(await suite.client.messaging.getCurrentMessageServer(), { messageServerId: DEFAULT_SERVER });
});

methodTest("messaging.listMessageServers", "{messageServers: MessageServer[]} with the default one", async () => {
  const { messageServers } = await suite.client.messaging.listMessageServers();
  assertArray(messageServers, "messageServers");
  messageServers.forEach((server, i) => assertMessageServer(server, `messageServers[${i}]`));
  const fallback = messageServers.find((server) => server.id === DEFAULT_SERVER);
  assert.ok(fallback, "the default server is listed");
  assert.equal(fallback.name, "Default Server");
  assert.equal(fallback.sourceType, "eliza_default");
});

methodTest("messaging.createMessageServer", "the MessageServer created", async () => {
  const params = {
    name: uniqueName("Server"),
    sourceType: "api-client-conformance",
    sourceId: "ext-1",
    metadata: { icon: "x" },
  };
  const server = await suite.client.messaging.createMessageServer(params);
  assertMessageServer(server);
  assert.equal(server.name, params.name);
  assert.equal(server.sourceType, params.sourceType);
  assert.equal(server.sourceId, params.sourceId);
});

methodTest("messaging.getMessageServerChannels", "{channels: MessageChannel[]} of the server", async () => {
  const { channels } = await suite.client.messaging.getMessageServerChannels(DEFAULT_SERVER);
  assertArray(channels, "channels");
  channels.forEach((channel, i) => assertChannel(channel, `channels[${i}]`));
  assert.ok(
    channels.some((channel) => channel.id === suite.chat.channel.id),
    "the fixture channel is listed",
  );
});

methodTest("messaging.syncMessageServerChannels", "{synced}; the channels exist on the server", async () => {
  const server = await createMessageServer(suite.target);
  const channels = [{ name: uniqueName("synced"), type: "GROUP", sourceId: `ext-${randomUUID()}` }];
  const reply = await suite.client.messaging.syncMessageServerChannels(server.id, { channels });
  assertObject(reply, "reply");
  assert.equal(reply.synced, channels.length);
  const listed = await expectStatus(
    suite.target,
    "GET",
    `/api/messaging/message-servers/${server.id}/channels`,
    undefined,
    200,
  );
  assert.ok(
    listed.data.channels.some((channel) => channel.name === channels[0].name),
    "the synced channel is listed",
  );
});

methodTest("messaging.deleteMessageServer", "{success: true}; the server is gone", async () => {
  const server = await createMessageServer(suite.target);
  const reply = await suite.client.messaging.deleteMessageServer(server.id);
  const listed = await expectStatus(suite.target, "GET", "/api/messaging/message-servers", undefined, 200);
  assert.ok(!listed.data.messageServers.some((known) => known.id === server.id), "the server is no longer listed");
  assertSuccess(reply, "reply");
});

methodTest("messaging.createChannel", "the MessageChannel, on the default server", async () => {
  const params = { name: uniqueName("Channel"), type: "GROUP", metadata: { topic: "conformance" } };
  const channel = await suite.client.messaging.createChannel(params);
  assertChannel(channel);
  assert.equal(channel.name, params.name);
  assert.equal(channel.type, "GROUP");
  assert.equal(channel.messageServerId, DEFAULT_SERVER);
});

methodTest("messaging.createGroupChannel", "the MessageChannel with its participants", async () => {
  const name = uniqueName("Group");
  const channel = await suite.client.messaging.createGroupChannel({
    name,
    participantIds: [suite.user, suite.agentId],
  });
  assertChannel(channel);
  assert.equal(channel.name, name);
  assert.equal(channel.type, "GROUP");
  assert.equal(channel.messageServerId, DEFAULT_SERVER);
  assert.deepEqual((await participants(suite.target, channel.id)).sort(), [suite.user, suite.agentId].sort());
});

methodTest("messaging.getOrCreateDmChannel", "a DM MessageChannel, the same one twice", async () => {
  const pair = [userId(), suite.agentId];
  const channel = await suite.client.messaging.getOrCreateDmChannel({ participantIds: pair });
  assertChannel(channel);
  assert.equal(channel.type, "DM");
  const again = await suite.client.messaging.getOrCreateDmChannel({ participantIds: pair });
  assert.equal(again.id, channel.id);
});

methodTest("messaging.getChannelDetails", "the MessageChannel", async () => {
  const channel = await suite.client.messaging.getChannelDetails(suite.chat.channel.id);
  assertChannel(channel);
  assert.equal(channel.id, suite.chat.channel.id);
  assert.equal(channel.name, suite.chat.channel.name);
  assert.equal(channel.type, "DM");
});

methodTest("messaging.getChannelParticipants", "the participants' ids (1.7.2's bare array)", async () => {
  // Typed `{participants: ChannelParticipant[]}`; 1.7.2 answers a bare array of ids (spec §2.3.3),
  // which the web UI reads either way. A drop-in keeps the array.
  const ids = await suite.client.messaging.getChannelParticipants(suite.chat.channel.id);
  assertArray(ids, "participants");
  ids.forEach((id) => assertUuid(id, "participants[]"));
  assert.deepEqual([...ids].sort(), [suite.user, suite.agentId].sort());
});

methodTest("messaging.addAgentToChannel", "the data {channelId, agentId, message}; the agent participates", async () => {
  const channel = await createGroupChannel(suite.target, [suite.user]);
  const reply = await suite.client.messaging.addAgentToChannel(channel.id, suite.agentId);
  assert.ok((await participants(suite.target, channel.id)).includes(suite.agentId), "the agent participates");
  assertChannelAgent(reply, channel.id, "Agent added to channel successfully");
});

methodTest("messaging.removeAgentFromChannel", "the data {channelId, agentId, message}; the agent left", async () => {
  const channel = await groupChannel();
  const reply = await suite.client.messaging.removeAgentFromChannel(channel.id, suite.agentId);
  assert.ok(!(await participants(suite.target, channel.id)).includes(suite.agentId), "the agent left");
  assertChannelAgent(reply, channel.id, "Agent removed from channel successfully");
});

methodTest("messaging.updateChannel", "the data: the MessageChannel renamed", async () => {
  const channel = await groupChannel();
  const name = uniqueName("Renamed");
  const reply = await suite.client.messaging.updateChannel(channel.id, { name });
  assertChannelUpdate(reply, channel.id);
  assert.equal(reply.name, name);
});

methodTest("messaging.addUserToChannel", "the data: the MessageChannel; the user participates", async () => {
  const channel = await groupChannel();
  const newcomer = userId();
  const reply = await suite.client.messaging.addUserToChannel(channel.id, newcomer);
  assert.ok((await participants(suite.target, channel.id)).includes(newcomer), "the user participates");
  assertChannelUpdate(reply, channel.id);
});

methodTest("messaging.addUsersToChannel", "the data: the MessageChannel; the users participate", async () => {
  const channel = await groupChannel();
  const newcomers = [userId(), userId()];
  const reply = await suite.client.messaging.addUsersToChannel(channel.id, newcomers);
  const now = await participants(suite.target, channel.id);
  assert.ok(
    newcomers.every((id) => now.includes(id)),
    `the users participate: ${now}`,
  );
  assertChannelUpdate(reply, channel.id);
});

methodTest("messaging.removeUserFromChannel", "the data: the MessageChannel; the user left", async () => {
  const channel = await groupChannel();
  const reply = await suite.client.messaging.removeUserFromChannel(channel.id, suite.user);
  assert.ok(!(await participants(suite.target, channel.id)).includes(suite.user), "the user left");
  assertChannelUpdate(reply, channel.id);
});

methodTest("messaging.submitMessage", "the stored Message, authored by the agent", async () => {
  const channel = await groupChannel();
  const content = `submitted ${randomUUID()}`;
  const message = await suite.client.messaging.submitMessage({
    agentId: suite.agentId,
    channelId: channel.id,
    content,
    metadata: { agentName: "Conformance" },
  });
  assertMessage(message);
  assert.equal(message.channelId, channel.id);
  assert.equal(message.authorId, suite.agentId);
  assert.equal(message.content, content);
  assert.ok((await channelMessages(suite.target, channel.id)).some((stored) => stored.id === message.id));
});

methodTest("messaging.completeMessage", "{success: true}", async () => {
  const reply = await suite.client.messaging.completeMessage({ messageId: suite.chat.reply.id, status: "completed" });
  assertSuccess(reply, "reply");
});

methodTest("messaging.ingestExternalMessages", "{processed} with the count sent", async () => {
  const channel = await groupChannel();
  const messages = [
    { id: `ext-${randomUUID()}`, authorId: suite.user, content: `external ${randomUUID()}`, timestamp: Date.now() },
  ];
  const reply = await suite.client.messaging.ingestExternalMessages({
    platform: "discord",
    channelId: channel.id,
    messages,
  });
  assertObject(reply, "reply");
  assert.equal(reply.processed, messages.length);
});

methodTest("messaging.postMessage", "the posted Message", async () => {
  const channel = await createDmChannel(suite.target, suite.user, suite.agentId);
  const content = `posted ${randomUUID()}`;
  const metadata = { isDm: true, channelType: "DM", targetUserId: suite.agentId };
  const message = await suite.client.messaging.postMessage(channel.id, content, metadata);
  assertMessage(message);
  assert.equal(message.channelId, channel.id);
  assert.equal(message.content, content);
  assert.ok((await channelMessages(suite.target, channel.id)).some((stored) => stored.id === message.id));
});

methodTest("messaging.getChannelMessages", "{messages: Message[]}: the exchange, newest first", async () => {
  const { messages } = await suite.client.messaging.getChannelMessages(suite.chat.channel.id, { limit: 10 });
  assertArray(messages, "messages");
  messages.forEach((message, i) => assertMessage(message, `messages[${i}]`));
  const ids = messages.map((message) => message.id);
  assert.ok(ids.includes(suite.chat.userMessage.id), "the user's message is listed");
  assert.ok(ids.includes(suite.chat.reply.id), "the agent's reply is listed");
  assert.ok(ids.indexOf(suite.chat.reply.id) < ids.indexOf(suite.chat.userMessage.id), "the reply comes first");
});

methodTest("messaging.getMessage", "the Message", async () => {
  const message = await suite.client.messaging.getMessage(suite.chat.reply.id);
  assertMessage(message);
  assert.equal(message.id, suite.chat.reply.id);
  assert.equal(message.channelId, suite.chat.channel.id);
  assert.equal(message.authorId, suite.agentId);
  assert.equal(message.content, suite.chat.reply.content);
});

methodTest("messaging.updateMessage", "the Message with its new content", async () => {
  const { channel, message } = await groupMessage();
  const content = `edited ${randomUUID()}`;
  const updated = await suite.client.messaging.updateMessage(message.id, content);
  assertMessage(updated);
  assert.equal(updated.id, message.id);
  assert.equal(updated.content, content);
  const stored = (await channelMessages(suite.target, channel.id)).find((known) => known.id === message.id);
  assert.equal(stored?.content, content);
});

methodTest("messaging.searchMessages", "{messages: Message[]} matching the query", async () => {
  const word = `needle${randomUUID().slice(0, 8)}`;
  const { channel, message } = await groupMessage(`a message with ${word} in it`);
  const { messages } = await suite.client.messaging.searchMessages({ query: word, channelId: channel.id });
  assertArray(messages, "messages");
  messages.forEach((found, i) => assertMessage(found, `messages[${i}]`));
  assert.deepEqual(
    messages.map((found) => found.id),
    [message.id],
  );
});

methodTest("messaging.deleteMessage", "{success: true}; the message is gone", async () => {
  const { channel, message } = await groupMessage();
  const reply = await suite.client.messaging.deleteMessage(channel.id, message.id);
  assert.ok(!(await channelMessages(suite.target, channel.id)).some((known) => known.id === message.id));
  assertSuccess(reply, "reply");
});

methodTest("messaging.clearChannelHistory", "1.7.2's 204 ({success: true}); the channel is empty", async () => {
  // Typed `{deleted: number}`; 1.7.2 answers 204 (spec §2.3.3), which the client turns into
  // {success: true}. A drop-in keeps the 204.
  const { channel } = await groupMessage();
  const reply = await suite.client.messaging.clearChannelHistory(channel.id);
  assert.deepEqual(await channelMessages(suite.target, channel.id), []);
  assertSuccess(reply, "reply");
});

methodTest("messaging.deleteChannel", "{success: true}; the channel is gone", async () => {
  const channel = await groupChannel();
  const reply = await suite.client.messaging.deleteChannel(channel.id);
  assert.equal((await api(suite.target, "GET", `/api/messaging/channels/${channel.id}/details`)).status, 404);
  assertSuccess(reply, "reply");
});

methodTest("messaging.generateChannelTitle", "{title}", async () => {
  // 1.7.2 titles a channel of four messages or more.
  const channel = await createDmChannel(suite.target, suite.user, suite.agentId);
  for (const [authorId, content] of [
    [suite.user, "Can you help me plan a trip to Lisbon?"],
    [suite.agentId, "Sure: when do you want to go?"],
    [suite.user, "In May, for a week."],
    [suite.agentId, "May is lovely there. Let us plan the week."],
  ]) {
    await submitMessage(suite.target, { channelId: channel.id, authorId, content });
  }
  const reply = await suite.client.messaging.generateChannelTitle(channel.id, suite.agentId);
  assertObject(reply, "reply");
  assertNonEmptyString(reply.title, "title");
});
