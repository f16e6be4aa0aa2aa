// api-client `sessions` and `jobs` services (API spec §2.3.4, §2.3.5): both answer unwrapped JSON,
// and both get the agent's reply through the fake model.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { api } from "../node-support/server.js";
import { FAKE_REPLY } from "../node-support/fake-openai.js";
import { createRunningAgent, eventually, expectStatus, uniqueName, userId } from "./lib/fixtures.js";
import { methodTest } from "./lib/recording.js";
import {
  assertArray,
  assertBoolean,
  assertCompletedPoll,
  assertDateLike,
  assertJob,
  assertNonEmptyString,
  assertNumber,
  assertObject,
  assertSessionInfo,
  assertSessionMessageResponse,
  assertSuccess,
} from "./lib/shapes.js";
import { useSuite } from "./lib/suite.js";

/** What the agent answers: the fake model's text (both servers run on that fake in this suite). */
const AGENT_REPLY = process.env.FAKE_OPENAI_REPLY ?? FAKE_REPLY;
/** A job's own timeout, and how long polling waits for it: 1.7.2's jobs never complete. */
const JOB_TIMEOUT_MS = 5_000;
const POLL = { interval: 100, timeout: JOB_TIMEOUT_MS + 1_000 };

const suite = useSuite(async (target) => ({
  agentId: await createRunningAgent(target, uniqueName("Conformance Sessions")),
}));

/** A fresh session (1.7.2's body) with a user of its own: `{sessionId, userId}`. */
async function session() {
  const user = userId();
  const created = await expectStatus(
    suite.target,
    "POST",
    "/api/messaging/sessions",
    { agentId: suite.agentId, userId: user },
    201,
  );
  return { sessionId: created.sessionId, userId: user };
}

/** The parameters of a job for the fixture agent. */
const jobParams = () => ({
  userId: userId(),
  content: `job ${randomUUID()}`,
  agentId: suite.agentId,
  timeoutMs: JOB_TIMEOUT_MS,
});

/** A job created with 1.7.2's body: `{jobId, params}`. */
async function job() {
  const params = jobParams();
  const created = await expectStatus(suite.target, "POST", "/api/messaging/jobs", params, 201);
  return { jobId: created.jobId, params };
}

methodTest("sessions.checkHealth", "SessionsHealthResponse", async () => {
  const health = await suite.client.sessions.checkHealth();
  assert.equal(health.status, "healthy");
  assertNumber(health.activeSessions, "activeSessions");
  assertDateLike(health.timestamp, "timestamp");
  assert.equal(typeof health.timestamp, "string");
});

methodTest("sessions.createSession", "CreateSessionResponse", async () => {
  const user = userId();
  const metadata = { platform: "api-client-conformance", username: "tester" };
  const created = await suite.client.sessions.createSession({ agentId: suite.agentId, userId: user, metadata });
  assertSessionInfo(created);
  assert.equal(created.agentId, suite.agentId);
  assert.equal(created.userId, user);
  assert.equal(created.metadata.platform, metadata.platform);
  assert.equal(created.metadata.username, metadata.username);
});

methodTest("sessions.getSession", "SessionInfoResponse", async () => {
  const { sessionId, userId: user } = await session();
  const info = await suite.client.sessions.getSession(sessionId);
  assertSessionInfo(info);
  assert.equal(info.sessionId, sessionId);
  assert.equal(info.agentId, suite.agentId);
  assert.equal(info.userId, user);
  assertDateLike(info.lastActivity, "lastActivity");
});

methodTest("sessions.listSessions", "ListSessionsResponse with the session", async () => {
  const { sessionId } = await session();
  const list = await suite.client.sessions.listSessions();
  assertArray(list.sessions, "sessions");
  list.sessions.forEach((info, i) => assertSessionInfo(info, `sessions[${i}]`));
  assert.ok(
    list.sessions.some((info) => info.sessionId === sessionId),
    "the session is listed",
  );
  assertNumber(list.total, "total");
  assert.ok(list.total >= list.sessions.length);
});

methodTest("sessions.sendMessage", "MessageResponse (1.7.2 gave the client undefined)", async () => {
  const { sessionId, userId: user } = await session();
  const content = `hello ${randomUUID()}`;
  const reply = await suite.client.sessions.sendMessage(sessionId, { content, metadata: { source: "conformance" } });
  assertSessionMessageResponse(reply, { content, userId: user });
});

methodTest("sessions.sendMessageSync", "MessageResponse with the agent's response", async () => {
  const { sessionId, userId: user } = await session();
  const content = `hello ${randomUUID()}`;
  const reply = await suite.client.sessions.sendMessageSync(sessionId, { content });
  assertSessionMessageResponse(reply, { content, userId: user });
  assertObject(reply.agentResponse, "agentResponse");
  assert.equal(reply.agentResponse.text, AGENT_REPLY);
});

methodTest("sessions.getMessages", "GetMessagesResponse: the user's message and the agent's reply", async () => {
  const { sessionId, userId: user } = await session();
  const content = `hello ${randomUUID()}`;
  await expectStatus(suite.target, "POST", `/api/messaging/sessions/${sessionId}/messages`, { content }, 201);
  await eventually("the agent's reply in the session", async () => {
    const listed = await expectStatus(
      suite.target,
      "GET",
      `/api/messaging/sessions/${sessionId}/messages`,
      undefined,
      200,
    );
    return listed.messages.some((message) => message.isAgent);
  });
  const { messages, hasMore } = await suite.client.sessions.getMessages(sessionId, { limit: 10 });
  assertArray(messages, "messages");
  for (const [i, message] of messages.entries()) {
    assertNonEmptyString(message.id, `messages[${i}].id`);
    assertNonEmptyString(message.content, `messages[${i}].content`);
    assertNonEmptyString(message.authorId, `messages[${i}].authorId`);
    assertBoolean(message.isAgent, `messages[${i}].isAgent`);
    assertDateLike(message.createdAt, `messages[${i}].createdAt`);
    assertObject(message.metadata, `messages[${i}].metadata`);
  }
  assertBoolean(hasMore, "hasMore");
  const mine = messages.find((message) => message.content === content);
  assert.ok(mine, "the user's message");
  assert.equal(mine.authorId, user);
  assert.equal(mine.isAgent, false);
  const answer = messages.find((message) => message.isAgent);
  assert.equal(answer?.content, AGENT_REPLY);
  assert.equal(answer.authorId, suite.agentId);
});

methodTest("sessions.deleteSession", "{success: true}; the session is gone", async () => {
  const { sessionId } = await session();
  const reply = await suite.client.sessions.deleteSession(sessionId);
  assert.equal((await api(suite.target, "GET", `/api/messaging/sessions/${sessionId}`)).status, 404);
  assertSuccess(reply, "reply");
});

methodTest("jobs.health", "JobHealthResponse", async () => {
  const health = await suite.client.jobs.health();
  assert.equal(health.healthy, true);
  assertNumber(health.timestamp, "timestamp");
  assertNumber(health.totalJobs, "totalJobs");
  for (const key of ["pending", "processing", "completed", "failed", "timeout"]) {
    assertNumber(health.statusCounts?.[key], `statusCounts.${key}`);
  }
  for (const key of ["averageProcessingTimeMs", "successRate", "failureRate", "timeoutRate"]) {
    assertNumber(health.metrics?.[key], `metrics.${key}`);
  }
  assertNumber(health.maxJobs, "maxJobs");
});

methodTest("jobs.create", "CreateJobResponse", async () => {
  const created = await suite.client.jobs.create(jobParams());
  assertNonEmptyString(created.jobId, "jobId");
  assert.ok(["pending", "processing", "completed"].includes(created.status), `status: ${created.status}`);
  assertNumber(created.createdAt, "createdAt");
  assertNumber(created.expiresAt, "expiresAt");
  assert.ok(created.expiresAt > created.createdAt, "expiresAt is after createdAt");
});

methodTest("jobs.getJob", "JobDetailsResponse", async () => {
  const { jobId, params } = await job();
  const details = await suite.client.jobs.getJob(jobId);
  assertJob(details);
  assert.equal(details.jobId, jobId);
  assert.equal(details.agentId, suite.agentId);
  assert.equal(details.userId, params.userId);
  assert.equal(details.prompt, params.content);
});

methodTest("jobs.list", "JobListResponse with the job", async () => {
  const { jobId } = await job();
  const list = await suite.client.jobs.list({ limit: 50 });
  assertArray(list.jobs, "jobs");
  list.jobs.forEach((details, i) => assertJob(details, `jobs[${i}]`));
  assert.ok(
    list.jobs.some((details) => details.jobId === jobId),
    "the job is listed",
  );
  assertNumber(list.total, "total");
  assertNumber(list.filtered, "filtered");
});

methodTest("jobs.poll", "a completed PollResult with the agent's answer", async () => {
  const { jobId } = await job();
  assertCompletedPoll(await suite.client.jobs.poll(jobId, POLL), AGENT_REPLY);
});

methodTest("jobs.createAndPoll", "a completed PollResult with the agent's answer", async () => {
  assertCompletedPoll(await suite.client.jobs.createAndPoll(jobParams(), POLL), AGENT_REPLY);
});

methodTest("jobs.createAndPollWithBackoff", "a completed PollResult with the agent's answer", async () => {
  const backoff = { initialInterval: 100, maxInterval: 300, timeout: POLL.timeout };
  assertCompletedPoll(await suite.client.jobs.createAndPollWithBackoff(jobParams(), backoff), AGENT_REPLY);
});

methodTest("jobs.ask", "the agent's answer", async () => {
  const answer = await suite.client.jobs.ask(userId(), `question ${randomUUID()}`, suite.agentId, POLL);
  assert.equal(answer, AGENT_REPLY);
});
