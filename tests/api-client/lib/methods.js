// The public methods of @elizaos/api-client 1.7.2, as `<service>.<method>`.

import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { BaseApiClient, ElizaClient } from "@elizaos/api-client";

const typesDir = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@elizaos/api-client")),
  "api-client/src/services",
);

/** Methods the .d.ts files declare `private` (they exist at run time all the same). */
function privateMethods() {
  const names = new Set();
  for (const file of readdirSync(typesDir).filter((name) => name.endsWith(".d.ts"))) {
    for (const [, name] of readFileSync(path.join(typesDir, file), "utf8").matchAll(/private (\w+)/g)) names.add(name);
  }
  return names;
}

/** `<service>.<method>` for every public method of every service of the client. */
export function clientMethods() {
  const hidden = privateMethods();
  const inherited = new Set(Object.getOwnPropertyNames(BaseApiClient.prototype));
  const client = ElizaClient.create({ baseUrl: "http://127.0.0.1:9" });
  return Object.entries(client).flatMap(([service, instance]) =>
    Object.getOwnPropertyNames(Object.getPrototypeOf(instance))
      .filter((name) => name !== "constructor" && !inherited.has(name) && !hidden.has(name))
      .map((name) => `${service}.${name}`),
  );
}
