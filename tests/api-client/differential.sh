#!/usr/bin/env bash
# The api-client conformance suite against the real @elizaos/server 1.7.2 and against ours, side by
# side: installs the reference under target/ (git-ignored), starts it with one agent and ours with
# the fake model, runs the suite against each, then prints both pass counts and every method whose
# outcome, HTTP statuses or returned shape differ (report.js --diff).
#
# Usage: tests/api-client/differential.sh
# Env:   ELIZA_SERVER_BIN (our binary; default target/debug/eliza-server), REF_PORT [3300],
#        FAKE_PORT [REF_PORT+10000], REF_DIR [target/api-client/ref],
#        ELIZA_SHARED_TOOLS [../shared/tools beside the repository]
#
# Both servers run on tests/node-support/fake-openai.js (it speaks the Responses API the reference's
# plugin-openai uses, and also speaks and transcribes, which shared/tools/fake-openai.py does not).
# The reference runs with REF_NO_RATELIMIT=1: the suite sends more than the 1000 /api requests per
# 15 minutes its limiter allows one client, and rate limiting is not what it compares.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOLS=${ELIZA_SHARED_TOOLS:-$(cd "$ROOT/.." && pwd)/shared/tools}
OUT=$ROOT/target/api-client
REF_DIR=${REF_DIR:-$OUT/ref}
REF_PORT=${REF_PORT:-3300}
FAKE_PORT=${FAKE_PORT:-$((REF_PORT + 10000))}
export ELIZA_SERVER_BIN=${ELIZA_SERVER_BIN:-$ROOT/target/debug/eliza-server}
# The suite's files that share one running server; stop-server.test.js runs after them.
SUITE_FILES=(agents.test.js audio-media.test.js memory.test.js messaging.test.js server-system.test.js sessions-jobs.test.js)

[[ -x "$ELIZA_SERVER_BIN" ]] || { echo "differential: no server binary at $ELIZA_SERVER_BIN" >&2; exit 1; }
[[ -x "$TOOLS/ref-server.sh" ]] || { echo "differential: no $TOOLS/ref-server.sh (set ELIZA_SHARED_TOOLS)" >&2; exit 1; }
mkdir -p "$OUT"
[[ -d "$HERE/node_modules/@elizaos/api-client" ]] || (cd "$HERE" && npm ci --no-audit --no-fund)

PIDS=()
cleanup() {
  "$TOOLS/ref-server.sh" stop "$REF_DIR" "$REF_PORT" >/dev/null 2>&1 || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Prints the first line of FILE starting with PREFIX, waiting up to SECONDS for it.
wait_for_line() {
  local file=$1 prefix=$2 seconds=$3 line
  for _ in $(seq 1 $((seconds * 10))); do
    line=$(grep -m1 "^$prefix" "$file" 2>/dev/null || true)
    if [[ -n "$line" ]]; then echo "$line"; return 0; fi
    sleep 0.1
  done
  echo "differential: no \"$prefix\" in $file after ${seconds}s:" >&2
  tail -20 "$file" >&2
  return 1
}

"$TOOLS/ref-server.sh" install "$REF_DIR"
# The reference edits the .env nearest its working directory: give it one of its own, as ours gets.
printf 'API_CLIENT_CONFORMANCE=1\n' > "$REF_DIR/.env"
rm -rf "$OUT/results-reference" "$OUT/results-ours" "$OUT/results-reference.json" "$OUT/results-ours.json"

echo "differential: starting the fake model on $FAKE_PORT and the reference on $REF_PORT" >&2
node "$ROOT/tests/node-support/fake-openai.js" "$FAKE_PORT" > "$OUT/fake-reference.log" 2>&1 &
PIDS+=($!)
wait_for_line "$OUT/fake-reference.log" "fake OpenAI at" 10 >/dev/null
eval "$(FAKE_OPENAI=0 FAKE_PORT=$FAKE_PORT REF_AGENT=1 REF_FRESH_DB=1 REF_NO_RATELIMIT=1 \
  "$TOOLS/ref-server.sh" start "$REF_DIR" "$REF_PORT")"

echo "differential: starting ours ($ELIZA_SERVER_BIN)" >&2
node "$HERE/lib/launch-ours.js" > "$OUT/ours.log" 2>&1 &
PIDS+=($!)
OURS_URL=$(wait_for_line "$OUT/ours.log" "ELIZA_TARGET_URL=" 30 | cut -d= -f2-)

# Runs the suite against a running server (failures are the point: they go to the report).
run_suite() {
  local kind=$1 url=$2
  echo "differential: the suite against $kind at $url" >&2
  (cd "$HERE" && ELIZA_TARGET_URL=$url ELIZA_TARGET_KIND=$kind \
    node --test --test-concurrency=1 --test-reporter=dot "${SUITE_FILES[@]}") > "$OUT/run-$kind.log" 2>&1 || true
  (cd "$HERE" && ELIZA_TARGET_URL=$url ELIZA_TARGET_KIND=$kind ELIZA_TARGET_ALLOW_STOP=1 \
    node --test --test-reporter=dot stop-server.test.js) >> "$OUT/run-$kind.log" 2>&1 || true
}
run_suite reference "$REF_URL"
run_suite ours "$OURS_URL"

node "$HERE/report.js" --diff ours reference
echo
echo "Failures with their exchanges: node tests/api-client/report.js ours (or reference)." >&2
echo "Results: $OUT/results-ours.json, $OUT/results-reference.json; logs: $OUT/run-*.log, $REF_LOG, $OUT/ours.log" >&2
