#!/usr/bin/env bash
# Instructions the server executes per streamed row, for two builds of it,
# counted by valgrind's callgrind: unlike seconds on this shared 2-core
# machine (±30% run to run), the count repeats within ~1% for the same
# binary and data, so a change of a few percent in StreamTokens' CPU per
# row shows in one run. Used for the stream's row decoding
# (docs/streams.md).
#
#   bench/stream-instructions.sh OLD_BINARY NEW_BINARY [POSTGRES_ADMIN_URL]
#
# Seeds 50,000 tokens with OLD_BINARY into a SQLite file (and, given a URL,
# a fresh PostgreSQL database beside it, dropped at the end), runs each
# server under callgrind, streams the organization once to warm it, zeroes
# the counters, streams it twice more (`bench-client stream`, 1,000-row
# pages) and prints the instructions per row and NEW/OLD. Needs valgrind
# (callgrind_control) and curl; bench-client is built from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 PG_ADMIN=${3:-}
TOKENS=50000 STREAMS=2
for tool in valgrind callgrind_control curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
cargo build --release --bin bench-client --locked -q
CLIENT=${CARGO_TARGET_DIR:-target}/release/bench-client
WORK=$(mktemp -d)
PG_DB="" PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ -n "$PG_DB" ] && psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
seed() { # database URL -> API key
  "$OLD" --database-url "$1" seed --org bench --tokens "$TOKENS" --clients 50 --owners 500 --batch 20000 2>/dev/null | tail -1
}
count() { # binary database key -> instructions over $STREAMS streams
  rm -f "$WORK"/cg.out*
  RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
    "$1" --database-url "$2" serve --grpc-addr 127.0.0.1:28021 --rest-addr 127.0.0.1:28022 \
    >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 600); do curl -s -o /dev/null http://127.0.0.1:28022/healthz && break; sleep 0.2; done
  KEY=$3 "$CLIENT" --addr http://127.0.0.1:28021 stream >/dev/null
  callgrind_control -z "$PID" >/dev/null
  for _ in $(seq "$STREAMS"); do KEY=$3 "$CLIENT" --addr http://127.0.0.1:28021 stream >/dev/null; done
  callgrind_control -d "$PID" >/dev/null
  sleep 1
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  grep -h '^summary:' "$(ls -t "$WORK"/cg.out.* | head -1)" | awk '{print $2}'
}

BACKENDS=("sqlite|sqlite://$WORK/stream.db|$(seed "sqlite://$WORK/stream.db")")
if [ -n "$PG_ADMIN" ]; then
  PG_DB="stream_instructions_$$"
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
  PG_URL="${PG_ADMIN%/*}/$PG_DB"
  BACKENDS+=("postgres|$PG_URL|$(seed "$PG_URL")")
fi
ROWS=$(( TOKENS * STREAMS ))
echo "| backend | old: instructions per row | new | new / old |"
echo "|---|---|---|---|"
for b in "${BACKENDS[@]}"; do
  IFS='|' read -r name url key <<< "$b"
  old=$(count "$OLD" "$url" "$key")
  new=$(count "$NEW" "$url" "$key")
  echo "| $name | $(( old / ROWS )) | $(( new / ROWS )) | $(python3 -c "print(f'{$new / $old:.3f}')") |"
done
