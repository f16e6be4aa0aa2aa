// The few elizaOS HTTP calls the benchmark makes, in the 1.7.2 shapes both servers accept.

import { randomUUID } from "node:crypto";

export const DEFAULT_SERVER = "00000000-0000-0000-0000-000000000000";
const TIMEOUT_MS = 60_000;

export async function call(base, method, route, body) {
  const response = await fetch(base + route, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** The bench character: replies come from the fake model through plugin-openai on both servers. */
export function benchCharacter(index) {
  return {
    name: `BenchAgent${index}`,
    username: `benchagent${index}`,
    bio: ["A benchmark agent that always replies with a fixed text from a fake local model."],
    system: "You are BenchAgent.",
    plugins: ["@elizaos/plugin-sql", "@elizaos/plugin-openai", "@elizaos/plugin-bootstrap"],
    settings: { secrets: {} },
    messageExamples: [],
    postExamples: [],
    topics: [],
    adjectives: [],
    style: { all: [], chat: [], post: [] },
  };
}

/** Creates and starts one agent; resolves its id once it reports itself active. */
export async function startAgent(base, index) {
  const created = await call(base, "POST", "/api/agents", { characterJson: benchCharacter(index) });
  const id = created.data.id ?? created.data.character?.id;
  await call(base, "POST", `/api/agents/${id}/start`, {});
  for (let waited = 0; waited < 60_000; waited += 100) {
    const agent = (await call(base, "GET", `/api/agents/${id}`)).data;
    if (agent.status === "active") return id;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`agent ${id} did not become active`);
}

/** A DM channel of `user` and `agent` (1.7.2 drops a reply when a newer message arrives in the same room). */
export async function dmChannel(base, user, agent, name = `bench-${randomUUID().slice(0, 8)}`) {
  const created = await call(base, "POST", "/api/messaging/channels", {
    name,
    message_server_id: DEFAULT_SERVER,
    participantCentralUserIds: [user, agent],
    type: "DM",
    metadata: { isDm: true },
  });
  return created.data.id;
}

export function postBody(user, content, transport) {
  const body = { author_id: user, content, message_server_id: DEFAULT_SERVER };
  if (transport) body.transport = transport;
  return body;
}

export async function channelMessages(base, channel, limit = 50) {
  return (await call(base, "GET", `/api/messaging/channels/${channel}/messages?limit=${limit}`)).data.messages;
}
