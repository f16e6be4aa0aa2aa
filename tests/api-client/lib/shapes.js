// Assertions for the types of @elizaos/api-client 1.7.2's .d.ts files, checked on real values.
//
// Rule used throughout: every field a type promises (non-optional) is asserted, and optional
// fields are type-checked when present. There are three exceptions, and each method they touch is
// listed in KNOWN_CLIENT_TYPING_BUGS below with a one-line reason (docs/compatibility.md cites it):
//
// - A type that describes the envelope. The client's request() returns the envelope's `data`
//   whenever the JSON has a `success` key, yet some methods are typed as the envelope itself,
//   `Promise<{success: boolean; data: X}>` or `Promise<{success: boolean}>`. No server can satisfy
//   such a type without a double envelope. The test asserts what the client really returns: X for
//   `{success, data: X}`, and for `{success}` 1.7.2's `data` object, field by field as 1.7.2 sends
//   it (api-1.7.2.md). Its comment says "client typing bug: the type describes the envelope".
// - A type 1.7.2's answer contradicts (another value, a bare array instead of an object, a 204
//   instead of a body). A drop-in replacement must keep 1.7.2's answer, so the test asserts that
//   instead and says so in a comment.
// - A field the type promises that neither 1.7.2 nor a drop-in stores: `updatedAt` of `Memory`
//   and `Room` (1.7.2's tables have no such column, so it never sent one). It is checked when
//   present; inventing a value would be a lie.
//
// In all cases the test still checks that the call had its effect (a deleted thing is gone, an
// edited one holds the new value). Everything else is asserted as typed.

import assert from "node:assert/strict";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** core's ChannelType values. */
export const CHANNEL_TYPES = [
  "SELF",
  "DM",
  "GROUP",
  "VOICE_DM",
  "VOICE_GROUP",
  "FEED",
  "THREAD",
  "WORLD",
  "FORUM",
  "API",
];
const RUN_STATUSES = ["completed", "timeout", "error", "started"];
const RUN_EVENT_TYPES = [
  "RUN_STARTED",
  "RUN_ENDED",
  "ACTION_STARTED",
  "ACTION_COMPLETED",
  "MODEL_USED",
  "EVALUATOR_COMPLETED",
  "EMBEDDING_EVENT",
];
const JOB_STATUSES = ["pending", "processing", "completed", "failed", "timeout"];

/**
 * The methods whose test does not assert the client's declared return type, each with its kind
 * (`envelope`: the type describes the envelope; `wire`: 1.7.2's answer contradicts the type;
 * `unstored`: a promised field neither 1.7.2 nor we store, checked when present) and a one-line
 * reason. Every other method is asserted as typed. coverage.test.js checks that each entry names
 * a client method.
 */
export const KNOWN_CLIENT_TYPING_BUGS = {
  "agents.getMessageServersForAgent": {
    kind: "envelope",
    reason: "typed {success, data: {agentId, messageServers}}; the client returns data, {agentId, messageServers}",
  },
  "agents.getAgentsForMessageServer": {
    kind: "envelope",
    reason: "typed {success, data: {messageServerId, agents}}; the client returns data, {messageServerId, agents}",
  },
  "agents.addAgentToMessageServer": {
    kind: "envelope",
    reason: "typed {success, data: {messageServerId, agentId, message}}; the client returns data, {messageServerId, agentId, message}",
  },
  "agents.removeAgentFromMessageServer": {
    kind: "envelope",
    reason: "typed {success, data: {messageServerId, agentId, message}}; the client returns data, {messageServerId, agentId, message}",
  },
  "agents.addAgentToWorld": {
    kind: "envelope",
    reason: "typed {success}; the client returns data, {world: World} (1.7.2 refuses the client's {worldId} body with 400)",
  },
  "messaging.updateChannel": {
    kind: "envelope",
    reason: "typed {success, data: MessageChannel}; the client returns data, the MessageChannel",
  },
  "messaging.addUserToChannel": {
    kind: "envelope",
    reason: "typed {success, data: MessageChannel}; it returns updateChannel's value, the MessageChannel",
  },
  "messaging.addUsersToChannel": {
    kind: "envelope",
    reason: "typed {success, data: MessageChannel}; it returns updateChannel's value, the MessageChannel",
  },
  "messaging.removeUserFromChannel": {
    kind: "envelope",
    reason: "typed {success, data: MessageChannel}; it returns updateChannel's value, the MessageChannel",
  },
  "messaging.addAgentToChannel": {
    kind: "envelope",
    reason: "typed {success}; the client returns 1.7.2's data, {channelId, agentId, message}",
  },
  "messaging.removeAgentFromChannel": {
    kind: "envelope",
    reason: "typed {success}; the client returns 1.7.2's data, {channelId, agentId, message}",
  },
  "memory.deleteMemory": {
    kind: "envelope",
    reason: "typed {success}; the client returns 1.7.2's data, {message: \"Memory deleted successfully\"}",
  },
  "memory.deleteAgentInternalMemory": {
    kind: "envelope",
    reason: "typed {success}; the client returns 1.7.2's data, {message: \"Memory deleted successfully\"}",
  },
  "memory.getAgentInternalMemories": {
    kind: "envelope",
    reason: "typed {success, data: Memory[]}; the client returns data, {memories: Memory[]} (getRoomMemories' route); Memory.updatedAt as in getRoomMemories",
  },
  "memory.getAgentMemories": {
    kind: "unstored",
    reason: "Memory.updatedAt is promised but never stored (1.7.2 has no column and never sends it): checked when present",
  },
  "memory.getRoomMemories": {
    kind: "unstored",
    reason: "Memory.updatedAt is promised but never stored (1.7.2 has no column and never sends it): checked when present",
  },
  "memory.listAgentRooms": {
    kind: "unstored",
    reason: "Room.updatedAt is promised but never stored (1.7.2 has no column and never sends it): checked when present",
  },
  "memory.getRoom": {
    kind: "unstored",
    reason: "Room.updatedAt is promised but never stored (1.7.2 has no column and never sends it): checked when present",
  },
  "memory.createRoom": {
    kind: "unstored",
    reason: "Room.updatedAt is promised but never stored (1.7.2 has no column and never sends it): checked when present",
  },
  "memory.updateMemory": {
    kind: "wire",
    reason: "typed Memory; 1.7.2 answers data {id, message: \"Memory updated successfully\"}",
  },
  "memory.updateAgentInternalMemory": {
    kind: "wire",
    reason: "typed Memory; 1.7.2 answers data {id, message: \"Memory updated successfully\"}",
  },
  "server.stopServer": {
    kind: "wire",
    reason: "typed {success}; 1.7.2 answers {message: \"Server stopping...\"} (no success key), which the client returns as is",
  },
  "server.checkHealth": {
    kind: "wire",
    reason: "ServerHealth types status as healthy, degraded or unhealthy; 1.7.2 answers \"OK\"",
  },
  "messaging.getChannelParticipants": {
    kind: "wire",
    reason: "typed {participants: ChannelParticipant[]}; 1.7.2 answers a bare array of ids",
  },
  "messaging.clearChannelHistory": {
    kind: "wire",
    reason: "typed {deleted}; 1.7.2 answers 204, which the client turns into {success: true}",
  },
  "memory.clearRoomMemories": {
    kind: "wire",
    reason: "typed {deleted}; 1.7.2 answers 204, which the client turns into {success: true}",
  },
  "memory.clearWorldMemories": {
    kind: "wire",
    reason: "typed {deleted}; 1.7.2 answers 204, which the client turns into {success: true}",
  },
};

/** JSON of a value, for assertion messages. */
const show = (value) => JSON.stringify(value)?.slice(0, 600);

export function assertObject(value, what) {
  assert.ok(
    value !== null && typeof value === "object" && !Array.isArray(value),
    `${what}: an object, got ${show(value)}`,
  );
}

export function assertArray(value, what) {
  assert.ok(Array.isArray(value), `${what}: an array, got ${show(value)}`);
}

export function assertUuid(value, what) {
  assert.match(String(value), UUID, `${what}: a UUID, got ${show(value)}`);
  assert.equal(typeof value, "string", `${what}: a string`);
}

export function assertString(value, what) {
  assert.equal(typeof value, "string", `${what}: a string, got ${show(value)}`);
}

export function assertNonEmptyString(value, what) {
  assertString(value, what);
  assert.ok(value.length > 0, `${what}: not empty`);
}

export function assertNumber(value, what) {
  assert.ok(typeof value === "number" && Number.isFinite(value), `${what}: a number, got ${show(value)}`);
}

export function assertBoolean(value, what) {
  assert.equal(typeof value, "boolean", `${what}: a boolean, got ${show(value)}`);
}

/** A `Date` field after JSON: an ISO string or epoch milliseconds that make a valid date. */
export function assertDateLike(value, what) {
  assert.ok(typeof value === "string" || typeof value === "number", `${what}: a date (ISO or ms), got ${show(value)}`);
  assert.ok(!Number.isNaN(new Date(value).getTime()), `${what}: a valid date, got ${show(value)}`);
}

/** Checks `check(value, what)` only when the optional field is present (undefined is absence). */
export function optional(value, what, check) {
  if (value !== undefined) check(value, what);
}

/** A base64 string that decodes to at least one byte. */
export function assertBase64(value, what) {
  assertNonEmptyString(value, what);
  assert.match(value, BASE64, `${what}: base64`);
  assert.ok(Buffer.from(value, "base64").length > 0, `${what}: decodes to bytes`);
}

/** `{success: true}`: what the client promises for deletes and other acknowledgements. */
export function assertSuccess(value, what) {
  assertObject(value, what);
  assert.equal(value.success, true, `${what}.success: true, got ${show(value)}`);
}

/** core's `Agent` (Character + enabled?, status?, createdAt, updatedAt). */
export function assertAgent(agent, what = "agent") {
  assertObject(agent, what);
  assertNonEmptyString(agent.name, `${what}.name`);
  assert.ok(typeof agent.bio === "string" || Array.isArray(agent.bio), `${what}.bio: string or string[]`);
  assertNumber(agent.createdAt, `${what}.createdAt`);
  assertNumber(agent.updatedAt, `${what}.updatedAt`);
  optional(agent.id, `${what}.id`, assertUuid);
  optional(agent.enabled, `${what}.enabled`, assertBoolean);
  optional(agent.status, `${what}.status`, (status) =>
    assert.ok(["active", "inactive"].includes(status), `${what}.status`),
  );
  optional(agent.plugins, `${what}.plugins`, assertArray);
  optional(agent.settings, `${what}.settings`, assertObject);
}

/** `MessageServer`. */
export function assertMessageServer(server, what = "server") {
  assertObject(server, what);
  assertUuid(server.id, `${what}.id`);
  assertString(server.name, `${what}.name`);
  assertString(server.sourceType, `${what}.sourceType`);
  assertDateLike(server.createdAt, `${what}.createdAt`);
  assertDateLike(server.updatedAt, `${what}.updatedAt`);
  optional(server.sourceId, `${what}.sourceId`, assertString);
  optional(server.metadata, `${what}.metadata`, assertObject);
}

/** `MessageChannel`. */
export function assertChannel(channel, what = "channel") {
  assertObject(channel, what);
  assertUuid(channel.id, `${what}.id`);
  assertUuid(channel.messageServerId, `${what}.messageServerId`);
  assertString(channel.name, `${what}.name`);
  assert.ok(CHANNEL_TYPES.includes(channel.type), `${what}.type: a ChannelType, got ${show(channel.type)}`);
  assertDateLike(channel.createdAt, `${what}.createdAt`);
  assertDateLike(channel.updatedAt, `${what}.updatedAt`);
  optional(channel.metadata, `${what}.metadata`, assertObject);
}

/** `Message` (a central message). */
export function assertMessage(message, what = "message") {
  assertObject(message, what);
  assertUuid(message.id, `${what}.id`);
  assertUuid(message.channelId, `${what}.channelId`);
  assertUuid(message.authorId, `${what}.authorId`);
  assertString(message.content, `${what}.content`);
  assertDateLike(message.createdAt, `${what}.createdAt`);
  assertDateLike(message.updatedAt, `${what}.updatedAt`);
  optional(message.metadata, `${what}.metadata`, assertObject);
  optional(message.sourceType, `${what}.sourceType`, assertString);
}

/** `Memory` (api-client's own type: updatedAt is promised too). */
export function assertMemory(memory, what = "memory") {
  assertObject(memory, what);
  assertUuid(memory.id, `${what}.id`);
  assertUuid(memory.agentId, `${what}.agentId`);
  assertString(memory.type, `${what}.type`);
  assert.ok("content" in memory, `${what}.content: present`);
  assertDateLike(memory.createdAt, `${what}.createdAt`);
  // Promised by the type, stored by neither 1.7.2 nor us (no column): checked when present.
  optional(memory.updatedAt, `${what}.updatedAt`, assertDateLike);
  optional(memory.entityId, `${what}.entityId`, assertUuid);
  optional(memory.roomId, `${what}.roomId`, assertUuid);
  optional(memory.embedding, `${what}.embedding`, assertArray);
  optional(memory.metadata, `${what}.metadata`, assertObject);
}

/** `Room` (api-client's memory type). */
export function assertRoom(room, what = "room") {
  assertObject(room, what);
  assertUuid(room.id, `${what}.id`);
  assertUuid(room.agentId, `${what}.agentId`);
  assertString(room.name, `${what}.name`);
  assertDateLike(room.createdAt, `${what}.createdAt`);
  // Promised by the type, stored by neither 1.7.2 nor us (no column): checked when present.
  optional(room.updatedAt, `${what}.updatedAt`, assertDateLike);
  optional(room.type, `${what}.type`, assertString);
}

/** 1.7.2's `World` (spec §1.7; the client has no type for it). */
export function assertWorld(world, what = "world") {
  assertObject(world, what);
  assertUuid(world.id, `${what}.id`);
  assertUuid(world.agentId, `${what}.agentId`);
  assertString(world.name, `${what}.name`);
  assert.ok(world.metadata === null || typeof world.metadata === "object", `${what}.metadata: an object or null, got ${show(world.metadata)}`);
  if (world.messageServerId !== null) assertUuid(world.messageServerId, `${what}.messageServerId`);
  assertDateLike(world.createdAt, `${what}.createdAt`);
}

/** `RunSummary`. */
export function assertRunSummary(run, what = "run") {
  assertObject(run, what);
  assertUuid(run.runId, `${what}.runId`);
  assert.ok(RUN_STATUSES.includes(run.status), `${what}.status: a RunStatus, got ${show(run.status)}`);
  assert.ok(run.startedAt === null || typeof run.startedAt === "number", `${what}.startedAt: number or null`);
  optional(run.counts, `${what}.counts`, (counts) => {
    for (const key of ["actions", "modelCalls", "errors", "evaluators"])
      assertNumber(counts[key], `${what}.counts.${key}`);
  });
}

/** `RunEvent`. */
export function assertRunEvent(event, what = "event") {
  assertObject(event, what);
  assert.ok(RUN_EVENT_TYPES.includes(event.type), `${what}.type: a RunEventType, got ${show(event.type)}`);
  assertNumber(event.timestamp, `${what}.timestamp`);
  assertObject(event.data, `${what}.data`);
}

/** `JobDetailsResponse`. */
export function assertJob(job, what = "job") {
  assertObject(job, what);
  assertNonEmptyString(job.jobId, `${what}.jobId`);
  assert.ok(JOB_STATUSES.includes(job.status), `${what}.status: a JobStatus, got ${show(job.status)}`);
  assertUuid(job.agentId, `${what}.agentId`);
  assertUuid(job.userId, `${what}.userId`);
  assertString(job.prompt, `${what}.prompt`);
  assertNumber(job.createdAt, `${what}.createdAt`);
  assertNumber(job.expiresAt, `${what}.expiresAt`);
  optional(job.result, `${what}.result`, (result) => {
    assertUuid(result.message?.id, `${what}.result.message.id`);
    assertString(result.message.content, `${what}.result.message.content`);
    assertUuid(result.message.authorId, `${what}.result.message.authorId`);
    assertNumber(result.message.createdAt, `${what}.result.message.createdAt`);
    assertNumber(result.processingTimeMs, `${what}.result.processingTimeMs`);
  });
  optional(job.error, `${what}.error`, assertString);
}

/** `PollResult` of a job the agent answered. */
export function assertCompletedPoll(result, agentReply, what = "poll result") {
  assertObject(result, what);
  assertJob(result.job, `${what}.job`);
  assert.equal(result.job.status, "completed", `${what}.job.status (error: ${show(result.job.error)})`);
  assert.equal(result.success, true, `${what}.success`);
  assert.equal(result.job.result?.message.content, agentReply, `${what}.job.result.message.content`);
  assertNumber(result.attempts, `${what}.attempts`);
  assertNumber(result.timeMs, `${what}.timeMs`);
}

/** `SessionInfoResponse` (and the wider `CreateSessionResponse` fields it shares). */
export function assertSessionInfo(session, what = "session") {
  assertObject(session, what);
  assertNonEmptyString(session.sessionId, `${what}.sessionId`);
  assertUuid(session.agentId, `${what}.agentId`);
  assertUuid(session.userId, `${what}.userId`);
  assertDateLike(session.createdAt, `${what}.createdAt`);
  assertObject(session.metadata, `${what}.metadata`);
}

/** `MessageResponse` of a session message. */
export function assertSessionMessageResponse(response, { content, userId }, what = "response") {
  assertObject(response, what);
  assert.equal(response.success, true, `${what}.success`);
  const message = response.userMessage;
  assertObject(message, `${what}.userMessage`);
  assertNonEmptyString(message.id, `${what}.userMessage.id`);
  assert.equal(message.content, content, `${what}.userMessage.content`);
  assert.equal(message.authorId, userId, `${what}.userMessage.authorId`);
  assertDateLike(message.createdAt, `${what}.userMessage.createdAt`);
  optional(response.sessionStatus, `${what}.sessionStatus`, (status) => {
    assertDateLike(status.expiresAt, `${what}.sessionStatus.expiresAt`);
    assertNumber(status.renewalCount, `${what}.sessionStatus.renewalCount`);
    assertBoolean(status.wasRenewed, `${what}.sessionStatus.wasRenewed`);
    assertBoolean(status.isNearExpiration, `${what}.sessionStatus.isNearExpiration`);
  });
}

/** `MediaUploadResponse` / `ChannelUploadResponse`. */
export function assertUpload(upload, { size, originalName }, what = "upload") {
  assertObject(upload, what);
  assertNonEmptyString(upload.url, `${what}.url`);
  assertNonEmptyString(upload.type, `${what}.type`);
  assertNonEmptyString(upload.filename, `${what}.filename`);
  assert.equal(upload.originalName, originalName, `${what}.originalName`);
  assert.equal(upload.size, size, `${what}.size`);
}

/** `SpeechResponse`: all optional; a conversation must at least give its reply's text. */
export function assertSpeechResponse(response, what = "speech response") {
  assertObject(response, what);
  assertNonEmptyString(response.text, `${what}.text`);
  optional(response.audio, `${what}.audio`, assertBase64);
  optional(response.duration, `${what}.duration`, assertNumber);
  optional(response.metadata, `${what}.metadata`, assertObject);
}
