// The eliza-server binary in echo-agent mode, for the Socket.IO interop suite.

import { randomUUID } from "node:crypto";
import { api, DEFAULT_SERVER, startServer as startAnyServer } from "../../node-support/server.js";

export { api, DEFAULT_SERVER, SERVER_BIN } from "../../node-support/server.js";

/** Starts the server with `ELIZA_ECHO_AGENTS=1` (plus `env`); see `node-support/server.js`. */
export function startServer({ env = {} } = {}) {
  return startAnyServer({ env: { ELIZA_ECHO_AGENTS: "1", ...env } });
}

async function expectStatus(server, method, route, body, status) {
  const reply = await api(server, method, route, body);
  if (reply.status !== status) {
    throw new Error(`${method} ${route}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

/** Creates and starts an agent; in echo mode it answers every message with `echo: <text>`. */
export async function createEchoAgent(server, name = "Echo") {
  const created = await expectStatus(server, "POST", "/api/agents", { agent: { name, bio: ["b"] } }, 201);
  const id = created.data.id;
  await expectStatus(server, "POST", `/api/agents/${id}/start`, {}, 200);
  return id;
}

/** A DM channel between `me` and `agent`, created the way the web UI does. */
export async function createDmChannel(server, me, agent) {
  const created = await expectStatus(
    server,
    "POST",
    "/api/messaging/channels",
    {
      name: `Chat - ${new Date().toISOString()}`,
      message_server_id: DEFAULT_SERVER,
      participantCentralUserIds: [me, agent],
      type: "DM",
      metadata: { isDm: true, user1: me, user2: agent, forAgent: agent },
    },
    201,
  );
  return created.data.id;
}

/** A fresh user id, as the web UI keeps in localStorage. */
export const userId = () => randomUUID();
