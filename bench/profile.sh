#!/usr/bin/env bash
# Where a request's time goes: loads the release server with h2load, one
# case at a time, while `perf record` samples it, and prints per case the
# server's CPU per request (from /proc: user + system time over requests
# served), req/s, and the top of the flat profile by self time, grouped
# into SQLite, kernel, allocator, JSON, hashing, protobuf, the rest.
# docs/performance.md records a run and what was done about each cost.
#
#   bench/profile.sh                                  # SQLite, all cases, 10 s each
#   bench/profile.sh --backend postgres --duration 5 --cases "rb25 count"
#
# The data set is the one issue 17 measured: 10,000 tokens of one user.
# Cases: health (the floor), rb25 (Review Board /api/oauth-tokens/, 25
# rows), rest25 (canonical GET /v1/tokens?pageSize=25), grpc10 (ListTokens,
# 10 rows), count (CountTokens of the owner), and the pair issue 17 sets
# against each other: grpc100 (ListTokens, 100 rows of the owner) and
# rest100 (the same query as canonical GET /v1/tokens). 16 concurrent
# streams.
# Needs perf (Debian linux-perf) and h2load (nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=sqlite
DURATION=10
CASES="health rb25 rest25 grpc10 count"
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) BACKEND=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --cases) CASES=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in perf h2load; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
PG_ADMIN=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}

. scripts/build-bins.sh
WORK=$(mktemp -d)
GRPC_PORT=$(( 20000 + RANDOM % 10000 ))
REST_PORT=$(( GRPC_PORT + 1 ))
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BACKEND" = sqlite ]; then
  DB="sqlite://$WORK/profile.db"
else
  PG_DB="profile_$$"
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_DB" >/dev/null
  DB="${PG_ADMIN%/*}/$PG_DB"
fi
KEY=$("$BIN" --database-url "$DB" seed --org bench --tokens 10000 --clients 10 --owners 1 2>/dev/null)
OWNER=user-00001 # seed's first owner (src/cli/seed.rs `owner`)
RUST_LOG=warn "$BIN" --database-url "$DB" serve --grpc-addr "127.0.0.1:$GRPC_PORT" --rest-addr "127.0.0.1:$REST_PORT" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  "$CLIENT" --addr "http://127.0.0.1:$GRPC_PORT" count --repeat 1 >/dev/null 2>&1 && break
  sleep 0.1
done

# gRPC request bodies: a framed ListTokensRequest (10 rows of the owner) and
# a CountTokensRequest{filter = 1} built by hand.
"$CLIENT" frame --filter "user_id = \"$OWNER\"" --page-size 10 "$WORK/list10.grpc" >/dev/null
"$CLIENT" frame --filter "user_id = \"$OWNER\"" --page-size 100 "$WORK/list100.grpc" >/dev/null
python3 - "$WORK/count.grpc" "user_id = \"$OWNER\"" <<'EOF'
import struct, sys
f = sys.argv[2].encode()
msg = b"\x0a" + bytes([len(f)]) + f
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(msg)) + msg)
EOF
python3 - "$WORK/health.grpc" <<'EOF'
import sys
open(sys.argv[1], "wb").write(b"\x00\x00\x00\x00\x00")
EOF

GRPC="http://127.0.0.1:$GRPC_PORT"
REST="http://127.0.0.1:$REST_PORT"
grpc_args() { echo "-d $1 -H content-type:application/grpc -H te:trailers -H authorization:Bearer\ $KEY"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
HZ=$(getconf CLK_TCK)

echo "| case | req/s | CPU per request | errors | top costs (self time) |"
echo "|---|---|---|---|---|"
for CASE in $CASES; do
  case "$CASE" in
    health) URL="$GRPC/grpc.health.v1.Health/Check"; ARGS=(-d "$WORK/health.grpc" -H 'content-type: application/grpc' -H 'te: trailers') ;;
    rb25) URL="$REST/api/oauth-tokens/?max-results=25"; ARGS=(--h1 -H "authorization: token $KEY") ;;
    rest25) URL="$REST/v1/tokens?pageSize=25"; ARGS=(--h1 -H "authorization: Bearer $KEY") ;;
    grpc10) URL="$GRPC/oauth_registry.v1.TokenService/ListTokens"; ARGS=(-d "$WORK/list10.grpc" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY") ;;
    grpc100) URL="$GRPC/oauth_registry.v1.TokenService/ListTokens"; ARGS=(-d "$WORK/list100.grpc" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY") ;;
    rest100) URL="$REST/v1/tokens?pageSize=100&filter=user_id%20%3D%20%22$OWNER%22"; ARGS=(--h1 -H "authorization: Bearer $KEY") ;;
    count) URL="$GRPC/oauth_registry.v1.TokenService/CountTokens"; ARGS=(-d "$WORK/count.grpc" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY") ;;
    *) echo "unknown case $CASE" >&2; exit 2 ;;
  esac
  CONNS=2; PER=8
  [[ " ${ARGS[*]} " == *" --h1 "* ]] && { CONNS=16; PER=1; }
  BEFORE=$(cpu_ticks)
  perf record -F 499 -g -p "$SERVER_PID" -o "$WORK/$CASE.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  PERF=$!
  h2load -D "$DURATION" -c "$CONNS" -m "$PER" "${ARGS[@]}" "$URL" > "$WORK/$CASE.out" 2>&1 || true
  wait "$PERF" || true
  AFTER=$(cpu_ticks)
  python3 - "$WORK/$CASE.out" "$BEFORE" "$AFTER" "$HZ" "$CASE" "$WORK/$CASE.data" <<'EOF'
import re, subprocess, sys
out, before, after, hz, case, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
text = open(out).read()
rps = re.search(r"finished in [^,]+, ([0-9.]+) req/s", text)
req = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
ok = int(req.group(1)) if req else 0
errors = (int(req.group(2)) + int(req.group(3))) if req else -1
cpu_ms = (after - before) * 1000.0 / hz / max(ok, 1)
report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol", "--stdio", "-q", "-g", "none"],
                        capture_output=True, text=True).stdout
groups = {}
def group(dso, sym):
    s = sym.lower()
    if "kernel" in dso: return "kernel"
    # SQLite is compiled into the binary: its C symbols have no Rust path.
    if "sqlite3" in s or "libsqlite" in dso or ("oauth-registry" in dso and "::" not in sym and not sym.startswith("_")): return "sqlite"
    if any(k in s for k in ("malloc", "free", "realloc", "memmove", "memcpy", "_int_", "cfree")): return "alloc/copy"
    if "serde_json" in s or "serde::" in s: return "json"
    if "sha2" in s or "hmac" in s or "sha256" in s: return "hashing"
    if "prost" in s: return "protobuf"
    if "libpq" in dso or "postgres" in s: return "postgres client"
    return "other"
for line in report.splitlines():
    m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[[^\]]+\]\s+(.*)", line)
    if m:
        g = group(m.group(2), m.group(3))
        groups[g] = groups.get(g, 0.0) + float(m.group(1))
top = ", ".join(f"{g} {p:.0f}%" for g, p in sorted(groups.items(), key=lambda x: -x[1])[:6])
print(f"| {case} | {float(rps.group(1)) if rps else 0:.0f} | {cpu_ms:.3f} ms | {errors} | {top} |")
with open(data + ".top", "w") as f:
    rows = [l for l in report.splitlines() if re.match(r"\s*[0-9.]+%", l)][:12]
    f.write(f"{case}:\n" + "\n".join("    " + " ".join(r.split()) for r in rows) + "\n")
EOF
done
echo
echo "Top symbols by self time, per case:"
for CASE in $CASES; do cat "$WORK/$CASE.data.top" 2>/dev/null || true; done
