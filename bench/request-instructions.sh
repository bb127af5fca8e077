#!/usr/bin/env bash
# User-space instructions the server executes per request, for two builds of
# it, counted by valgrind's callgrind on the hot-path data (10,000 tokens of
# one user): unlike CPU seconds on this shared 2-core machine, where the same
# 100-row page measured 0.24-0.38 ms in consecutive 5 s phases, the count
# repeats within ~1%, so a change of a few percent shows in one run. The
# kernel's share (the socket writes) is not counted. Used for the canonical
# REST page against gRPC's (docs/performance.md).
#
#   bench/request-instructions.sh OLD_BINARY NEW_BINARY [CASES]
#
# CASES (default "rest100 grpc100 rest304 health"): rest100 is canonical
# GET /v1/tokens of 100 rows of the owner, grpc100 the same ListTokens over
# gRPC, rest304 the same GET answered 304 by If-None-Match, health the gRPC
# health check. Seeds the data with OLD_BINARY into a SQLite file, runs each
# server under callgrind, warms each case with 100 requests, zeroes the
# counters, sends $N (default 600) requests with h2load at the hot cases'
# concurrency and prints instructions per request and NEW/OLD. Needs
# valgrind (callgrind_control), h2load and curl; bench-client is built from
# this checkout. Takes about a minute per binary.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 CASES=${3:-rest100 grpc100 rest304 health}
N=${N:-600}
for tool in valgrind callgrind_control curl h2load; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
cargo build --release --bin bench-client --locked -q
CLIENT=${CARGO_TARGET_DIR:-target}/release/bench-client
WORK=$(mktemp -d)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
DB="sqlite://$WORK/hot.db"
KEY=$("$OLD" --database-url "$DB" seed --org hot --tokens 10000 --clients 10 --owners 1 2>/dev/null | tail -1)
OWNER=user-00001 # seed's first owner (src/cli/seed.rs `owner`)
GRPC=http://127.0.0.1:28031 REST=http://127.0.0.1:28032
PAGE="$REST/v1/tokens?pageSize=100&filter=user_id%20%3D%20%22$OWNER%22"
"$CLIENT" frame --filter "user_id = \"$OWNER\"" --page-size 100 "$WORK/list100.grpc" >/dev/null
printf '\0\0\0\0\0' > "$WORK/health.grpc"

# case name -> h2load arguments (in ARGS)
case_args() {
  local g=(-c 2 -m 8 -H 'content-type: application/grpc' -H 'te: trailers')
  case $1 in
    rest100) ARGS=(--h1 -c 16 -H "authorization: Bearer $KEY" "$PAGE") ;;
    grpc100) ARGS=("${g[@]}" -d "$WORK/list100.grpc" -H "authorization: Bearer $KEY" "$GRPC/oauth_registry.v1.TokenService/ListTokens") ;;
    rest304)
      local tag
      tag=$(curl -s -D - -o /dev/null -H "authorization: Bearer $KEY" "$PAGE" | tr -d '\r' | awk 'tolower($1) == "etag:" {print $2}')
      ARGS=(--h1 -c 16 -H "authorization: Bearer $KEY" -H "if-none-match: $tag" "$PAGE") ;;
    health) ARGS=("${g[@]}" -d "$WORK/health.grpc" "$GRPC/grpc.health.v1.Health/Check") ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}
# binary -> "case=instructions per request ..." for each case
count() {
  rm -f "$WORK"/cg.out*
  RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
    "$1" --database-url "$DB" serve --grpc-addr "${GRPC#http://}" --rest-addr "${REST#http://}" \
    >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 600); do curl -s -o /dev/null "$REST/livez" && break; sleep 0.2; done
  local c out=() ins ok
  for c in $CASES; do
    case_args "$c"
    h2load -n 100 "${ARGS[@]}" >/dev/null 2>&1
    callgrind_control -z "$PID" >/dev/null 2>&1
    h2load -n "$N" "${ARGS[@]}" > "$WORK/h2.out" 2>&1
    callgrind_control -d "$PID" >/dev/null 2>&1
    sleep 0.5
    ins=$(grep -h '^summary:' "$(ls -t "$WORK"/cg.out.* | head -1)" | awk '{print $2}')
    ok=$(grep -o '[0-9]* succeeded' "$WORK/h2.out" | cut -d' ' -f1)
    [ "${ok:-0}" -gt 0 ] || { echo "$c: no request succeeded" >&2; cat "$WORK/h2.out" >&2; exit 1; }
    out+=("$c=$(( ins / ok ))")
  done
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  echo "${out[*]}"
}

old=$(count "$OLD")
new=$(count "$NEW")
echo "| case | old: instructions per request | new | new / old |"
echo "|---|---|---|---|"
python3 - "$old" "$new" <<'EOF'
import sys
old = dict(kv.split("=") for kv in sys.argv[1].split())
new = dict(kv.split("=") for kv in sys.argv[2].split())
for case, o in old.items():
    n = new[case]
    print(f"| {case} | {int(o):,} | {int(n):,} | {int(n) / int(o):.3f} |")
if "rest100" in new and "grpc100" in new:
    print()
    print(f"rest100 / grpc100 instructions: old {int(old['rest100']) / int(old['grpc100']):.2f}, new {int(new['rest100']) / int(new['grpc100']):.2f}")
EOF
