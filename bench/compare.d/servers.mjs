// Starting, measuring and stopping the servers under test: ours (the release binary), the
// reference 1.7.2 (through ../shared/tools/ref-server.sh) and the bare actix-web ceiling.

import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { SCRUBBED } from "../../tests/node-support/server.js";

const run = promisify(execFile);
const START_TIMEOUT_MS = 180_000;
const POLL_MS = 2;


/** `VmRSS` and `VmHWM` (peak) of a process, in MiB; null once it is gone. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)[1]);
    return { rssMib: kib("VmRSS") / 1024, peakMib: kib("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** Polls `url` until it answers 2xx; resolves the ms since `since`, or throws after the limit. */
async function waitForOk(url, since, alive) {
  while (performance.now() - since < START_TIMEOUT_MS) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (!alive()) throw new Error(`the server exited before answering ${url}`);
    await sleep(POLL_MS);
  }
  throw new Error(`${url} did not answer within ${START_TIMEOUT_MS} ms`);
}

/** Waits until `pid` is gone, killing it after 10 s. */
async function waitForExit(pid) {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waited = 0; alive() && waited < 10_000; waited += 50) await sleep(50);
  if (alive()) process.kill(pid, "SIGKILL");
}

/** Kills a child and waits for it to exit (SIGTERM, then SIGKILL after 30 s). */
async function terminate(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts our binary on `port` with `dataDir` (kept between starts, so a second start finds an
 * existing database). The start-up time runs from spawn to the first 200 of the ping.
 */
export async function startOurs({ bin, port, dataDir, fakeUrl, env = {}, logFile }) {
  const childEnv = { ...process.env };
  for (const name of SCRUBBED) delete childEnv[name];
  Object.assign(childEnv, {
    ELIZA_DEFAULT_AGENT: "false",
    ELIZA_UI_AUTO_FETCH: "false",
    NO_COLOR: "1",
    OPENAI_API_KEY: "sk-fake-loopback",
    OPENAI_BASE_URL: fakeUrl,
    ...env,
  });
  const args = ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir];
  const since = performance.now();
  const child = spawn(bin, args, { cwd: dataDir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const tail = [];
  const keep = (chunk) => {
    tail.push(chunk.toString());
    if (tail.length > 50) tail.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let spawnError = null;
  child.once("error", (err) => (spawnError = err));
  const alive = () => spawnError === null && child.exitCode === null && child.signalCode === null;
  let startupMs;
  try {
    startupMs = await waitForOk(`http://127.0.0.1:${port}/api/server/ping`, since, alive);
  } catch (err) {
    if (spawnError) throw new Error(`cannot run ${bin}: ${spawnError.message}`);
    await terminate(child);
    throw new Error(`${err.message}\n${tail.join("")}`);
  }
  return {
    kind: "ours",
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    startupMs,
    logTail: () => tail.join(""),
    stop: () => terminate(child),
  };
}

/**
 * Starts the reference through `ref-server.sh start` (launcher under bun, rate-limit bypass for
 * benchmarks, the shared fake model already running). Its start-up time is the script's own
 * figure: launch to the first 200 of the ping, polled every 50 ms.
 */
export async function startReference({ tools, dir, port, dataDir, fresh, fakePort }) {
  const env = {
    ...process.env,
    REF_NO_RATELIMIT: "1",
    REF_DATA_DIR: dataDir,
    REF_FRESH_DB: fresh ? "1" : "0",
    FAKE_OPENAI: "0",
    FAKE_PORT: String(fakePort),
  };
  const { stdout } = await run(`${tools}/ref-server.sh`, ["start", dir, String(port)], {
    env,
    maxBuffer: 1 << 20,
  });
  const values = Object.fromEntries(
    stdout.split("\n").filter((line) => line.includes("=")).map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
  const pid = Number(values.REF_PID);
  if (!pid) throw new Error(`ref-server.sh printed no REF_PID:\n${stdout}`);
  return {
    kind: "reference",
    pid,
    url: values.REF_URL,
    startupMs: Number(values.REF_STARTUP_MS),
    logTail: () => {
      try {
        return readFileSync(values.REF_LOG, "utf8").split("\n").slice(-50).join("\n");
      } catch {
        return "";
      }
    },
    // `ref-server.sh stop` stops the server but exits 1 when no fake model was recorded for the
    // port (it reads the missing pid file); what counts is that the process is gone.
    stop: async () => {
      await run(`${tools}/ref-server.sh`, ["stop", dir, String(port)]).catch(() => {});
      await waitForExit(pid);
    },
  };
}

/** Starts the bare actix-web ceiling (`crates/http/examples/ceiling.rs`). */
export async function startCeiling({ bin, port }) {
  const since = performance.now();
  const child = spawn(bin, [String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  let spawnError = null;
  child.once("error", (err) => (spawnError = err));
  const alive = () => spawnError === null && child.exitCode === null && child.signalCode === null;
  await waitForOk(`http://127.0.0.1:${port}/ping`, since, alive).catch((err) => {
    throw new Error(`${spawnError?.message ?? err.message}\n${stderr}`);
  });
  return { kind: "ceiling", pid: child.pid, url: `http://127.0.0.1:${port}`, stop: () => terminate(child) };
}

/**
 * Starts the zero-latency fake model both servers talk to: the reference tools' `fake-openai.py`,
 * or, without those tools, the node fake of our own test suites (same routes and reply).
 */
export async function startFakeModel({ tools, port }) {
  const [command, args] = tools
    ? ["python3", [`${tools}/fake-openai.py`, "--host", "127.0.0.1", "--port", String(port)]]
    : [process.execPath, [new URL("../../tests/node-support/fake-openai.js", import.meta.url).pathname, String(port)]];
  const child = spawn(command, args, { stdio: "ignore" });
  let spawnError = null;
  child.once("error", (err) => (spawnError = err));
  const alive = () => spawnError === null && child.exitCode === null && child.signalCode === null;
  await waitForOk(`http://127.0.0.1:${port}/v1/models`, performance.now(), alive);
  return { url: `http://127.0.0.1:${port}/v1`, stop: () => terminate(child) };
}
