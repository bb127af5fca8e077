#!/usr/bin/env bash
# A/B of two builds of the server on the same data: CPU per request and
# req/s of the Review Board page (25 rows) and a canonical REST page (100
# rows) at 16 concurrent HTTP/1.1 connections (h2load), then StreamTokens
# rows/s and peak RSS, the two binaries alternating per round with a fresh
# server each. Used for the allocator change (docs/performance.md).
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# e.g. build the parent commit into another target directory, copy its
# binary aside, build this one, and compare. Needs h2load, curl, python3;
# bench-client is built from this checkout (release).
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 ROUNDS=${3:-3}
cargo build --release --bin bench-client --locked -q
CLIENT=${CARGO_TARGET_DIR:-target}/release/bench-client
WORK=$(mktemp -d); trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PID=""
HOT=$("$A" --database-url "sqlite://$WORK/hot.db" seed --org hot --tokens 10000 --clients 10 --owners 1 2>/dev/null)
BIG=$("$A" --database-url "sqlite://$WORK/big.db" seed --org bench --tokens 300000 --clients 300 --owners 3000 --batch 20000 2>/dev/null)
HZ=$(getconf CLK_TCK)
serve() { # binary db
  RUST_LOG=warn "$1" --database-url "sqlite://$WORK/$2" serve --grpc-addr 127.0.0.1:28011 --rest-addr 127.0.0.1:28012 >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:28012/healthz && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
for round in $(seq "$ROUNDS"); do
  for bin in "$A" "$B"; do
    serve "$bin" hot.db
    line="round $round $(basename "$bin")"
    for c in "rb25|/api/oauth-tokens/?max-results=25|authorization: token $HOT" "rest100|/v1/tokens?pageSize=100|authorization: Bearer $HOT"; do
      IFS='|' read -r name path auth <<< "$c"
      h2load --h1 -D 2 -c 16 -m 1 -H "$auth" "http://127.0.0.1:28012$path" >/dev/null 2>&1
      t0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
      res=$(h2load --h1 -D 8 -c 16 -m 1 -H "$auth" "http://127.0.0.1:28012$path" 2>&1)
      t1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
      ok=$(echo "$res" | grep -o '[0-9]* succeeded' | cut -d' ' -f1)
      rps=$(echo "$res" | grep -o '[0-9.]* req/s' | head -1)
      line="$line | $name $rps, CPU $(python3 -c "print(f'{($t1 - $t0) * 1000 / $HZ / max($ok, 1):.3f}')") ms/req"
    done
    stop
    serve "$bin" big.db
    rows=""
    for _ in 1 2 3; do
      rows="$rows $(KEY=$BIG "$CLIENT" --addr http://127.0.0.1:28011 stream | python3 -c "import json, sys; print(int(json.load(sys.stdin)['rows_per_sec']))")"
    done
    line="$line | stream rows/s$rows, peak RSS $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$PID/status") MiB"
    stop
    echo "$line"
  done
done
