// The comparison table: one line per measured figure with both servers, the ratio and, where the
// issue sets one, the target and whether it is met.

const LOWER = "lower";
const HIGHER = "higher";

function fmt(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 })}${unit ? ` ${unit}` : ""}`;
}

/** How many times better ours is (reference / ours for costs, ours / reference for rates). */
function advantage(ref, ours, better) {
  if (!ref || !ours) return null;
  return better === LOWER ? ref / ours : ours / ref;
}

const get = (object, ...keys) => keys.reduce((value, key) => (value == null ? undefined : value[key]), object);

/** The rows of the table; `target` is the advantage the issue asks for, `absolute` a bound on ours. */
function rows(results) {
  const { refRate } = results.plan;
  const fast = refRate * 10;
  const perServer = [
    ["1", "start to first ping, new database", "ms", LOWER, (r) => get(r, "coldStart", "newDbMs"), 30],
    ["1", "start to first ping, existing database", "ms", LOWER, (r) => get(r, "coldStart", "existingDbMs"), 30],
    ["2", "idle RSS, 0 agents", "MiB", LOWER, (r) => get(r, "idleRss", 0)],
    ["2", "idle RSS, 1 agent", "MiB", LOWER, (r) => get(r, "idleRss", 1), 10],
    ["2", "idle RSS, 10 agents", "MiB", LOWER, (r) => get(r, "idleRss", 10)],
    ["2", "peak RSS over the run (the loads both servers ran)", "MiB", LOWER, (r) => get(r, "peakRssMib"), 10],
  ];
  const throughput = [
    ["GET /healthz", "healthz"],
    ["GET /api/server/ping", "ping"],
    ["GET /api/agents (10 agents)", "agents", 25, 10],
    ["GET …/channels/:id/messages?limit=50", "messageList", 25, 10],
  ];
  for (const [name, key, rpsTarget, p99Target] of throughput) {
    perServer.push(["3", `${name}, c10: requests/s`, "", HIGHER, (r) => get(r, key, "rps"), rpsTarget]);
    perServer.push(["3", `${name}, c10: p50`, "ms", LOWER, (r) => get(r, key, "p50Ms")]);
    perServer.push(["3", `${name}, c10: p99`, "ms", LOWER, (r) => get(r, key, "p99Ms"), p99Target]);
  }
  for (const c of [1, 4]) {
    const key = `roundTrip${c}`;
    perServer.push(["4", `round trip (transport http), c${c}: messages/s`, "", HIGHER, (r) => get(r, key, "rps"), 30]);
    perServer.push(["4", `round trip, c${c}: p50`, "ms", LOWER, (r) => get(r, key, "p50Ms")]);
    perServer.push(["4", `round trip, c${c}: p99`, "ms", LOWER, (r) => get(r, key, "p99Ms")]);
  }
  perServer.push(
    ["5", `open loop ${refRate}/s × ${results.plan.openLoopSeconds} s: POST p99`, "ms", LOWER, (r) => get(r, "openLoop", refRate, "postP99Ms")],
    ["5", `open loop ${refRate}/s: last reply stored after the last send`, "ms", LOWER, (r) => get(r, "openLoop", refRate, "lastReplyAfterLastSendMs")],
  );
  const lines = perServer.map(([row, name, unit, better, pick, target]) => ({
    row, name, unit, better, ref: pick(results.reference), ours: pick(results.ours), target,
  }));
  const peak = lines.findIndex((line) => line.name.startsWith("peak RSS"));
  lines.splice(peak + 1, 0, {
    row: "2", name: "peak RSS with ours-only loads (10× open loop, larger fan-out)", unit: "MiB", better: LOWER,
    ours: get(results.ours, "peakRssWithExtrasMib"),
  });
  lines.push(
    { row: "5", name: `open loop ${fast}/s (10× the reference's rate): POST p99`, unit: "ms", better: LOWER, ours: get(results.ours, "openLoop", fast, "postP99Ms"), absolute: 20 },
    { row: "5", name: `open loop ${fast}/s: last reply stored after the last send`, unit: "ms", better: LOWER, ours: get(results.ours, "openLoop", fast, "lastReplyAfterLastSendMs"), absolute: 2_000 },
    { row: "5", name: `open loop ${fast}/s: replies stored`, unit: "", better: HIGHER, ours: get(results.ours, "openLoop", fast, "replies") },
  );
  const sizes = [...new Set([...results.plan.fanOutSizes, ...results.plan.oursExtraFanOut])];
  for (const n of sizes) {
    lines.push({
      row: "6", name: `Socket.IO fan-out to ${n} sockets: delivery p99`, unit: "ms", better: LOWER,
      ref: get(results.reference, "fanOut", n, "p99Ms"), ours: get(results.ours, "fanOut", n, "p99Ms"),
    });
    lines.push({
      row: "6", name: `fan-out to ${n}: sockets joined`, unit: "", better: HIGHER,
      ref: get(results.reference, "fanOut", n, "joined"), ours: get(results.ours, "fanOut", n, "joined"),
    });
  }
  for (const size of results.plan.searchSizes) {
    lines.push({ row: "7", name: `memory search, ${size} memories (384-d), c1: p50`, unit: "ms", better: LOWER, ours: get(results.search, size, "p50Ms"), note: "no route in 1.7.2" });
    lines.push({ row: "7", name: `memory search, ${size} memories, c1: p99`, unit: "ms", better: LOWER, ours: get(results.search, size, "p99Ms"), note: "no route in 1.7.2" });
  }
  const pingShare = get(results.ours, "ping", "rps") / get(results.ceiling, "rps");
  lines.push(
    { row: "ceiling", name: "bare actix-web constant JSON, c10: requests/s", unit: "", better: HIGHER, ours: get(results.ceiling, "rps") },
    { row: "ceiling", name: "GET /api/server/ping as a share of the ceiling", unit: "%", better: HIGHER, ours: pingShare * 100, absoluteMin: 70 },
  );
  return lines;
}

function verdict(line) {
  if (line.target) {
    const times = advantage(line.ref, line.ours, line.better);
    if (times === null) return { target: `≥ ${line.target}×`, met: "–" };
    return { target: `≥ ${line.target}×`, met: times >= line.target ? "yes" : "**no**" };
  }
  if (line.absolute !== undefined) {
    if (line.ours == null) return { target: `≤ ${fmt(line.absolute, line.unit)}`, met: "–" };
    return { target: `≤ ${fmt(line.absolute, line.unit)}`, met: line.ours <= line.absolute ? "yes" : "**no**" };
  }
  if (line.absoluteMin !== undefined) {
    return { target: `≥ ${line.absoluteMin}${line.unit}`, met: line.ours >= line.absoluteMin ? "yes" : "**no**" };
  }
  return { target: "", met: "" };
}

export function renderReport(results, { date, machine, tools }) {
  const out = [];
  out.push(`Run ${date}${results.plan.smoke ? " (smoke: a few seconds per row; figures are not comparable)" : ""}.`);
  out.push(`Machine: ${machine}.`, `Tools: ${tools}.`, "");
  out.push("| row | measure | reference 1.7.2 (bun) | eliza-rs | eliza-rs advantage | target | met |");
  out.push("|---|---|---|---|---|---|---|");
  const misses = [];
  for (const line of rows(results)) {
    const times = advantage(line.ref, line.ours, line.better);
    const { target, met } = verdict(line);
    if (met === "**no**") misses.push(`${line.row}: ${line.name}`);
    const ref = line.ref === undefined && line.note ? line.note : fmt(line.ref, line.unit);
    out.push(`| ${line.row} | ${line.name} | ${ref} | ${fmt(line.ours, line.unit)} | ${times === null ? "" : `${fmt(times)}×`} | ${target} | ${met} |`);
  }
  out.push("");
  out.push(misses.length ? `Targets missed: ${misses.join("; ")}.` : "Every target with a figure is met.");
  out.push("");
  return out.join("\n");
}

/** `node report.mjs RESULTS.json`: renders a saved run again (after a change to this file). */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { readFileSync } = await import("node:fs");
  const results = JSON.parse(readFileSync(process.argv[2], "utf8"));
  process.stdout.write(renderReport(results, results.meta));
}
