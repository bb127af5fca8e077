#!/usr/bin/env bash
# Crash safety (SQLite): kill -9 the server in the middle of a write load,
# restart it, repeat; then check that every write acknowledged before a kill
# is stored and that `PRAGMA integrity_check` is ok. Prints the counts; exits
# non-zero on any loss or corruption.
#
#   bash scripts/crash-safety.sh                 # 5 rounds of 2 s, 16 writers
#   ROUNDS=20 LOAD_SECS=5 bash scripts/crash-safety.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
LOAD_SECS=${LOAD_SECS:-2}
WRITERS=${WRITERS:-16}

. scripts/build-bins.sh
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -9 "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DB="$WORK/crash.db"
# Below the ephemeral range (32768+), so no outgoing connection holds it.
PORT=$(( 30000 + RANDOM % 2700 ))
KEY=$("$BIN" --database-url "sqlite://$DB" seed --tokens 10 --clients 1 --owners 2 2>/dev/null)
export KEY

for round in $(seq "$ROUNDS"); do
  RUST_LOG=warn "$BIN" --database-url "sqlite://$DB" serve --no-rest \
    --grpc-addr "127.0.0.1:$PORT" > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  if ! "$BIN" healthcheck --addr "127.0.0.1:$PORT" --timeout-ms 500 --wait 30 >/dev/null; then
    echo "round $round: the server did not start; its log:" >&2
    cat "$WORK/server.log" >&2
    exit 1
  fi
  "$CLIENT" --addr "http://127.0.0.1:$PORT" write-load --concurrency "$WRITERS" "$WORK/acked.txt" \
    > "$WORK/load.json" 2>/dev/null &
  LOAD_PID=$!
  sleep "$LOAD_SECS"
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  wait "$LOAD_PID" || true
  echo "round $round: killed -9 under load; $(wc -l < "$WORK/acked.txt") writes acknowledged so far"
done

ACKED=$(sort -u "$WORK/acked.txt" | grep -c . || true)
MISSING=$(sqlite3 "$DB" <<SQL
CREATE TEMP TABLE acked (id TEXT PRIMARY KEY);
.import --csv $WORK/acked.txt acked
SELECT count(*) FROM acked WHERE id NOT IN (SELECT id FROM tokens);
SQL
)
STORED=$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE name LIKE 'load-%'")
INTEGRITY=$(sqlite3 "$DB" "PRAGMA integrity_check")
echo "rounds: $ROUNDS x ${LOAD_SECS}s, $WRITERS writers; acknowledged: $ACKED; stored: $STORED; acknowledged but missing: $MISSING; integrity_check: $INTEGRITY"
[ "$MISSING" = 0 ] && [ "$INTEGRITY" = ok ] && [ "$ACKED" -gt 0 ]
