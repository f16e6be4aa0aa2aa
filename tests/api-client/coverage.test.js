// The suite covers every public method of @elizaos/api-client 1.7.2: each one has a methodTest;
// and the list of methods not asserted as typed (KNOWN_CLIENT_TYPING_BUGS) names real methods.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { clientMethods } from "./lib/methods.js";
import { KNOWN_CLIENT_TYPING_BUGS } from "./lib/shapes.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The methods the suite's files test, from their `methodTest("<service>.<method>", …)` calls. */
function testedMethods() {
  const tested = new Set();
  for (const file of readdirSync(here).filter((name) => name.endsWith(".test.js"))) {
    const source = readFileSync(path.join(here, file), "utf8");
    for (const [, name] of source.matchAll(/methodTest\(\s*"([\w.]+)"/g)) tested.add(name);
  }
  return tested;
}

test("every api-client method has a test", () => {
  const methods = clientMethods();
  assert.ok(methods.length >= 100, `found ${methods.length} methods: the client's services changed?`);
  const tested = testedMethods();
  assert.deepEqual(
    methods.filter((name) => !tested.has(name)),
    [],
    "methods without a test",
  );
  assert.deepEqual(
    [...tested].filter((name) => !methods.includes(name)),
    [],
    "tests of no client method",
  );
});

test("every known client typing bug names a client method, its kind and a one-line reason", () => {
  const methods = clientMethods();
  for (const [method, { kind, reason, ...rest }] of Object.entries(KNOWN_CLIENT_TYPING_BUGS)) {
    assert.ok(methods.includes(method), `${method}: a client method`);
    assert.ok(["envelope", "wire", "unstored"].includes(kind), `${method}: kind envelope, wire or unstored, got ${kind}`);
    assert.ok(typeof reason === "string" && reason.length > 0 && !reason.includes("\n"), `${method}: a one-line reason`);
    assert.deepEqual(Object.keys(rest), [], `${method}: only kind and reason`);
  }
});
