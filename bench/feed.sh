# Sourced by bench/run.sh: the change-feed cases (issue 15), run per
# backend with $BACKEND, $DB, $BIN, $CLIENT, $WATCH, $WORK, $TOKENS,
# $DURATION and the helpers of run.sh (start_server, stop_server, load, row,
# json, ratio, median) in scope.
#
#  7. Write throughput: CreateToken under h2load (16 concurrent) against this
#     build and the last commit before the change log ($FEED_BASE_SHA), each
#     on a fresh database, alternating, $FEED_ROUNDS rounds; medians and
#     their ratio. Opt-in (--feed-baseline): it builds a second binary.
#  8. Commit→delivery latency at $FEED_WATCHERS idle watchers while one
#     writer creates tokens at $FEED_RATE/s (bench-watch latency), against
#     the same writes' unary round trip with nobody watching.
#  9. Catch-up: an organization's feed filled with $TOKENS CREATED events
#     (bench-watch fill), then WatchTokens from version 0 to its BOOKMARK,
#     against StreamTokens over the same rows; 3 alternating repetitions.

FEED_BASE_SHA=046ef92
FEED_PG_DB=""
FEED_BASE_TREE=""
BASE_BIN=""

feed_cleanup() {
  if [ -n "$FEED_PG_DB" ]; then psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $FEED_PG_DB" >/dev/null 2>&1 || true; fi
  if [ -n "$FEED_BASE_TREE" ]; then git worktree remove --force "$FEED_BASE_TREE" >/dev/null 2>&1 || true; fi
}

# Sets BASE_BIN: $FEED_BASE_SHA's server built with $BUILD_PROFILE in a
# detached worktree, cached in $CARGO_TARGET_DIR/bench-baseline/<sha>.
feed_baseline_bin() {
  [ -n "$BASE_BIN" ] && return 0
  local sha dir
  sha=$(git rev-parse --verify "$FEED_BASE_SHA^{commit}") || return 1
  dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")/bench-baseline/$sha
  if [ ! -x "$dir/$PROFILE_DIR/oauth-registry" ]; then
    echo "== building $FEED_BASE_SHA ($BUILD_PROFILE profile) into $dir" >&2
    FEED_BASE_TREE=$(mktemp -d)
    git worktree add --detach -q "$FEED_BASE_TREE" "$sha" || return 1
    (cd "$FEED_BASE_TREE" && CARGO_TARGET_DIR="$dir" cargo build --profile "$BUILD_PROFILE" --bin oauth-registry --locked -q) || return 1
    git worktree remove --force "$FEED_BASE_TREE"
    FEED_BASE_TREE=""
  fi
  BASE_BIN=$dir/$PROFILE_DIR/oauth-registry
}

# One round of case 7 with server binary $1 on a fresh database; sets
# ROUND to "req/s p50_ms p99_ms errors created" (not printed: a command
# substitution's subshell would hide the server and database from cleanup).
feed_write_round() {
  local bin=$1 fdb key saved_key=$KEY rps p50 p99 err created
  if [ "$BACKEND" = sqlite ]; then
    rm -f "$WORK"/write.db*
    fdb="sqlite://$WORK/write.db"
  else
    FEED_PG_DB="bench_w_$$"
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $FEED_PG_DB" >/dev/null 2>&1
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $FEED_PG_DB" >/dev/null
    fdb="${PG_ADMIN%/*}/$FEED_PG_DB"
  fi
  key=$("$bin" --database-url "$fdb" seed --org write --tokens 1000 --clients 10 --owners 10 2>/dev/null)
  KEY=$key
  start_server "$fdb" "$bin"
  read -r rps p50 p99 err _ < <(load 16 "http://127.0.0.1:$GRPC_PORT/oauth_registry.v1.TokenService/CreateToken" \
    -d "$WORK/create.grpc" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY")
  created=$("$CLIENT" --addr "http://127.0.0.1:$GRPC_PORT" count --filter 'user_id = "bench-writer"' --repeat 1 | json '["count"]')
  stop_server
  KEY=$saved_key
  if [ -n "$FEED_PG_DB" ]; then psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $FEED_PG_DB" >/dev/null; FEED_PG_DB=""; fi
  rm -f "$WORK"/write.db*
  ROUND="$rps $p50 $p99 $err $created"
}

feed_write_case() {
  local what="CreateToken, 16 concurrent (h2load), ${DURATION}s × $FEED_ROUNDS rounds, feed on vs pre-feed $FEED_BASE_SHA"
  if [ "$FEED_BASELINE" != 1 ]; then
    row "$BACKEND | $what | skipped (pass --feed-baseline: it builds $FEED_BASE_SHA's binary) | | | |"
    return
  fi
  if ! feed_baseline_bin; then
    row "$BACKEND | $what | skipped ($FEED_BASE_SHA did not build) | | | |"
    return
  fi
  "$WATCH" frame-create "$WORK/create.grpc" >/dev/null
  local r new old new_rps="" old_rps="" ratios="" notes=""
  for r in $(seq 1 "$FEED_ROUNDS"); do
    # Alternate which build goes first, so drift on the machine hits both.
    if [ $(( r % 2 )) = 1 ]; then
      feed_write_round "$BIN"; new=$ROUND
      feed_write_round "$BASE_BIN"; old=$ROUND
    else
      feed_write_round "$BASE_BIN"; old=$ROUND
      feed_write_round "$BIN"; new=$ROUND
    fi
    echo "   round $r: feed on $new; pre-feed $old (req/s p50 p99 errors created)" >&2
    new_rps+="${new%% *} "; old_rps+="${old%% *} "
    ratios+="$(ratio "${new%% *}" "${old%% *}") "
    notes+="r$r $(echo "$new" | awk '{printf "%s/%s errors, %s created", $1, $4, $5}') vs $(echo "$old" | awk '{printf "%s/%s errors, %s created", $1, $4, $5}'); "
  done
  local n o
  n=$(echo "$new_rps" | median); o=$(echo "$old_rps" | median)
  row "$BACKEND | $what | $(printf %.0f "$n") req/s (median) | $FEED_BASE_SHA $(printf %.0f "$o") req/s (median) | $(ratio "$n" "$o")× (target ≥ 0.8) | per-round ratios ${ratios% }; req/s, errors and tokens created: ${notes%; } |"
}

feed_latency_case() {
  local writes=$(( FEED_RATE * DURATION > 100 ? FEED_RATE * DURATION : 100 ))
  local L
  L=$("$WATCH" --addr "http://127.0.0.1:$GRPC_PORT" latency --watchers "$FEED_WATCHERS" --rate "$FEED_RATE" --writes "$writes")
  f() { echo "$L" | json "$1" | xargs printf %.2f; }
  row "$BACKEND | commit→delivery: $FEED_WATCHERS idle watchers (one connection each, all matching), 1 writer at $FEED_RATE/s, $writes writes | p50 $(f '["delivery"]["p50_ms"]') ms, p99 $(f '["delivery"]["p99_ms"]') ms; last of the $FEED_WATCHERS: p50 $(f '["delivery_last_watcher"]["p50_ms"]') ms, p99 $(f '["delivery_last_watcher"]["p99_ms"]') ms | CreateToken round trip, nobody watching: p50 $(f '["rtt_alone"]["p50_ms"]') ms, p99 $(f '["rtt_alone"]["p99_ms"]') ms | p50 $(ratio "$(f '["delivery"]["p50_ms"]')" "$(f '["rtt_alone"]["p50_ms"]')")×, p99 $(ratio "$(f '["delivery"]["p99_ms"]')" "$(f '["rtt_alone"]["p99_ms"]')")× of the round trip | round trip while watched p50 $(f '["rtt_watched"]["p50_ms"]') ms, p99 $(f '["rtt_watched"]["p99_ms"]') ms; events missing $(echo "$L" | json '["missing"]') |"
}

feed_catchup_case() {
  local feed_key saved_key=$KEY F S C i rows_rps="" ev_rps="" events="" nrows=""
  "$BIN" --database-url "$DB" admin create-org feed >/dev/null
  feed_key=$("$BIN" --database-url "$DB" admin create-key --org feed --scopes tokens:read,tokens:write 2>/dev/null)
  echo "== $BACKEND: filling the feed with $TOKENS events" >&2
  F=$("$WATCH" fill --database-url "$DB" --org feed --events "$TOKENS")
  if [ "$BACKEND" = sqlite ]; then sqlite3 "$WORK/bench.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || true; fi
  KEY=$feed_key
  for i in 1 2 3; do
    S=$("$CLIENT" --addr "http://127.0.0.1:$GRPC_PORT" stream)
    C=$("$WATCH" --addr "http://127.0.0.1:$GRPC_PORT" catchup --start-version 0)
    echo "   catch-up $i: stream $S; watch $C" >&2
    rows_rps+="$(echo "$S" | json '["rows_per_sec"]') "; nrows=$(echo "$S" | json '["rows"]')
    ev_rps+="$(echo "$C" | json '["events_per_sec"]') "; events=$(echo "$C" | json '["events"]')
  done
  KEY=$saved_key
  local e r
  e=$(echo "$ev_rps" | median); r=$(echo "$rows_rps" | median)
  row "$BACKEND | catch-up: WatchTokens from version 0 to its BOOKMARK, $events events | $(printf %.0f "$e") events/s (median of 3) | StreamTokens $nrows rows: $(printf %.0f "$r") rows/s (median of 3) | $(ratio "$e" "$r")× | feed filled through Store::insert_tokens, batches of 1000: $(echo "$F" | json '["events_per_sec"]' | xargs printf %.0f) events/s |"
}
