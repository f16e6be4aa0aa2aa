// Runs our server with the fake model until SIGTERM or SIGINT, for differential.sh: prints
// `ELIZA_TARGET_URL=<url>` once it listens, and the server's log when it stops.

import { startOurs } from "./target.js";

const server = await startOurs();
console.log(`ELIZA_TARGET_URL=${server.url}`);

async function shutdown() {
  const log = server.output();
  await server.stop();
  console.log(`--- server output ---\n${log}`);
  process.exit(0);
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
