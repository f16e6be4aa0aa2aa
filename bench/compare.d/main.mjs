// bench/compare's driver: measures the reference 1.7.2 and eliza-rs one after the other on this
// machine with the same fake model and the same loads, then prints one table (and writes it to
// the output file). Configured by bench/compare through the environment; see there.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { measureCeiling, measureSearch, measureServer } from "./measure.mjs";
import { renderReport } from "./report.mjs";
import { startCeiling, startFakeModel, startOurs, startReference } from "./servers.mjs";

const env = process.env;
const smoke = env.BENCH_MODE === "smoke";
const workDir = path.resolve(env.BENCH_WORK_DIR);
const plan = {
  workDir,
  smoke,
  seconds: Number(env.BENCH_SECONDS ?? (smoke ? 2 : 10)),
  starts: smoke ? 1 : 5,
  settleMs: smoke ? 500 : 5_000,
  openLoopSeconds: smoke ? 2 : 10,
  fanOutPosts: smoke ? 2 : 5,
  fanOutGapMs: smoke ? 300 : 1_000,
};
const refRate = Number(env.BENCH_REF_RATE ?? (smoke ? 5 : 20));
const searchSizes = smoke ? [1_000, 2_000] : [10_000, 100_000];
const fanOutSizes = smoke ? [10, 50] : [100, 1_000];
const oursExtraFanOut = smoke ? [] : [5_000];

// Below Linux's ephemeral range (32768+), so thousands of client sockets cannot hold them.
const PORTS = { reference: 31410, ours: 31420, ceiling: 31430, fake: 31440 };

function log(text) {
  process.stderr.write(`[bench] ${text}\n`);
}

function oursTarget(fakeUrl) {
  const dataDir = path.join(workDir, "ours-data");
  return {
    kind: "ours",
    openLoopRates: [refRate],
    fanOutSizes,
    extraOpenLoopRates: [refRate * 10],
    extraFanOutSizes: oursExtraFanOut,
    start: async ({ fresh }) => {
      if (fresh) rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir, { recursive: true });
      return startOurs({ bin: env.BENCH_OURS_BIN, port: PORTS.ours, dataDir, fakeUrl });
    },
  };
}

function referenceTarget() {
  return {
    kind: "reference",
    openLoopRates: [refRate],
    fanOutSizes,
    start: ({ fresh }) =>
      startReference({
        tools: env.BENCH_REF_TOOLS,
        dir: env.BENCH_REF_DIR,
        port: PORTS.reference,
        dataDir: path.join(workDir, "reference-db"),
        fresh,
        fakePort: PORTS.fake,
      }),
  };
}

/** Kept after each server, so a failed run still shows what was measured. */
function saveResults(results) {
  writeFileSync(path.join(workDir, "results.json"), JSON.stringify(results, null, 2));
}

async function main() {
  mkdirSync(workDir, { recursive: true });
  const fake = await startFakeModel({ tools: env.BENCH_REF_TOOLS || null, port: PORTS.fake });
  const results = { plan: { ...plan, refRate, searchSizes, fanOutSizes, oursExtraFanOut } };
  try {
    if (env.BENCH_REF_DIR) results.reference = await measureServer(referenceTarget(), plan);
    else log("reference skipped (BENCH_REF_DIR is empty)");
    saveResults(results);
    results.ours = await measureServer(oursTarget(fake.url), plan);
    log("ceiling");
    results.ceiling = await measureCeiling(
      () => startCeiling({ bin: env.BENCH_CEILING_BIN, port: PORTS.ceiling }),
      plan,
    );
    log("memory search");
    results.search = await measureSearch(
      ({ dataDir, env: extra }) =>
        startOurs({ bin: env.BENCH_OURS_BIN, port: PORTS.ours, dataDir, fakeUrl: fake.url, env: extra }),
      plan,
      searchSizes,
    );
  } finally {
    await fake.stop();
  }
  results.meta = { date: new Date().toISOString().slice(0, 10), machine: env.BENCH_MACHINE, tools: env.BENCH_TOOLS };
  saveResults(results);
  const report = renderReport(results, results.meta);
  process.stdout.write(report);
  writeFileSync(env.BENCH_OUTPUT, report);
  log(`table written to ${env.BENCH_OUTPUT}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
