#!/usr/bin/env bash
# Soak: mixed reads and writes at high concurrency for a while, reporting
# errors (target 0) and the server's RSS over time (target: flat).
#
#   bash scripts/soak.sh                       # 10 minutes, SQLite
#   bash scripts/soak.sh --duration 60 --database-url postgres://postgres@127.0.0.1:5432/soak
#
# Reads: h2load, 64 concurrent ListTokens (owner filter, 100 rows) over gRPC.
# Writes: bench-client write-load, 16 concurrent CreateToken. RSS is sampled
# every 10 s from /proc. Needs h2load (Debian nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=600
DB_URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --database-url) DB_URL=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v h2load >/dev/null || { echo "h2load (nghttp2-client) is required" >&2; exit 1; }
. scripts/build-bins.sh
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
DB_URL=${DB_URL:-sqlite://$WORK/soak.db}
# Below the ephemeral range (32768+), so no outgoing connection holds it.
PORT=$(( 10000 + RANDOM % 10000 ))
KEY=$("$BIN" --database-url "$DB_URL" seed --org soak --tokens 100000 --clients 100 --owners 1000 2>/dev/null)
export KEY
RUST_LOG=warn "$BIN" --database-url "$DB_URL" serve --grpc-addr "127.0.0.1:$PORT" \
  --rest-addr "127.0.0.1:$(( PORT + 1 ))" > "$WORK/server.log" 2>&1 &
SERVER=$!; PIDS+=("$SERVER")
"$BIN" healthcheck --addr "127.0.0.1:$PORT" --timeout-ms 500 --wait 10 >/dev/null
"$CLIENT" frame --filter 'user_id = "user-00042"' "$WORK/list.grpc" >/dev/null
h2load -D "$DURATION" -c 8 -m 8 -d "$WORK/list.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
  -H "authorization: Bearer $KEY" --log-file="$WORK/h2.log" \
  "http://127.0.0.1:$PORT/oauth_registry.v1.TokenService/ListTokens" > "$WORK/h2.out" 2>&1 &
READS=$!; PIDS+=("$READS")
"$CLIENT" --addr "http://127.0.0.1:$PORT" write-load --concurrency 16 "$WORK/acked.txt" > "$WORK/writes.json" 2>&1 &
WRITES=$!; PIDS+=("$WRITES")

echo "| elapsed s | server RSS MiB |"
echo "|---|---|"
START=$(date +%s)
while kill -0 "$READS" 2>/dev/null; do
  echo "| $(( $(date +%s) - START )) | $(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$SERVER/status") |"
  sleep 10
done
wait "$READS" || true
kill "$WRITES" 2>/dev/null || true
wait "$WRITES" 2>/dev/null || true
# gRPC errors travel in trailers under HTTP 200, so count them from the
# server's own metrics: every finished call by code.
curl -s "http://127.0.0.1:$(( PORT + 1 ))/metrics" > "$WORK/metrics.txt"
GRPC_ERRORS=$(awk -F'[{} ]' '/^oauth_registry_requests_total\{method="\/oauth_registry/ && $0 !~ /code="0"/ {n += $NF} END {print n+0}' "$WORK/metrics.txt")
GRPC_OK=$(awk -F'[{} ]' '/^oauth_registry_requests_total\{method="\/oauth_registry/ && $0 ~ /code="0"/ {n += $NF} END {print n+0}' "$WORK/metrics.txt")
HWM=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SERVER/status")
READ_LINE=$(grep -E "^requests:" "$WORK/h2.out" || echo "requests: ?")
NON_OK=$(awk '$2 != 200 {n++} END {print n+0}' "$WORK/h2.log")
FAILED=$(echo "$READ_LINE" | sed -E 's/.* ([0-9]+) failed, ([0-9]+) errored.*/\1 \2/')
ACKED=$(wc -l < "$WORK/acked.txt")
echo
echo "reads: $READ_LINE ($(grep -oE '[0-9.]+ req/s' "$WORK/h2.out" | head -1)); non-200: $NON_OK"
echo "writes acknowledged: $ACKED; server errors logged: $(grep -c ' ERROR ' "$WORK/server.log" || true)"
echo "gRPC calls by the server's metrics: $GRPC_OK OK, $GRPC_ERRORS not OK"
echo "server peak RSS: $HWM MiB"
read -r F E <<< "$FAILED"
[ "${F:-1}" = 0 ] && [ "${E:-1}" = 0 ] && [ "$NON_OK" = 0 ] && [ "$GRPC_ERRORS" = 0 ]
