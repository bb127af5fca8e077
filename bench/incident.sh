# Sourced by bench/run.sh: the incident-response cases (issue 16), run per
# backend with $BACKEND, $DB, $ORG, $BIN, $CLIENT, $WORK, $TOKENS, $DURATION,
# $KEY and the helpers of run.sh (start_server, stop_server, load, row,
# json, ratio, median, $SERVE_EXTRA) in scope, on the seeded organization
# with the server running; it is running again when they return.
#
# 10. Read throughput with read auditing on (the default: each read's event
#     queued and written in batches off the request path) against
#     `serve --no-audit-reads`, on the same database: h2load,
#     $INCIDENT_STREAMS concurrent ListTokens(owner) 100-row pages, then as
#     many CountTokens(owner), $DURATION s each, on a fresh server per
#     setting; $INCIDENT_ROUNDS rounds alternating which setting goes first;
#     medians and their ratio. The notes give the read events the audit
#     table gained per successful call (about 1 when auditing keeps up) and
#     the events the sink dropped (oauth_registry_audit_dropped_total).
# 11. Bulk revoke: RevokeTokens of $TOKENS/10 not yet revoked tokens (a
#     create_time window taken from the data so that it holds exactly that
#     many), dry run then the confirmed run (500-row transactions), while
#     ListTokens(owner) 10-row pages are called at $INCIDENT_RATE/s, open
#     loop (bench-client revoke-under-load); the run's rows/s, and the p99
#     of the calls due during it against the calls due in the equal period
#     just before it (at most $INCIDENT_BEFORE s). $INCIDENT_ROUNDS rounds on
#     disjoint windows spread over the live tokens by creation time: the
#     oldest tenth first, the newest last, the others evenly between (a
#     bulk run's cost may depend on where its rows lie); medians.

INCIDENT_OWNER=user-00042

# One scalar from the bench database.
incident_sql() {
  if [ "$BACKEND" = sqlite ]; then
    sqlite3 "$WORK/bench.db" "$1"
  else
    psql -qtA "$DB" -c "$1"
  fi
}

# The running server's counter $1 (Prometheus text on the REST port).
incident_metric() {
  python3 - "http://127.0.0.1:$REST_PORT/metrics" "$1" <<'EOF'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
print(sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(sys.argv[2] + " ") or l.startswith(sys.argv[2] + "{")))
EOF
}

# One server start of case 10, read auditing $1 (on|off); sets ROUND to
# "list_rps count_rps list_errors count_errors events_per_call dropped".
incident_audit_round() {
  local l_rps l_err c_rps c_err before after dropped
  # No lame-duck delay on stop (5 s by default): it only costs time here.
  SERVE_EXTRA="--shutdown-delay-secs 0"
  [ "$1" = off ] && SERVE_EXTRA+=" --no-audit-reads"
  start_server "$DB"
  SERVE_EXTRA=""
  # Warm-up: connection, key cache, the owner's pages.
  h2load -n 400 -c 1 -m 8 -d "$WORK/incident-list.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
    -H "authorization: Bearer $KEY" "http://127.0.0.1:$GRPC_PORT/oauth_registry.v1.TokenService/ListTokens" >/dev/null 2>&1 || true
  sleep 0.5
  before=$(incident_sql "SELECT count(*) FROM audit_events WHERE kind = 'read'")
  read -r l_rps _ _ l_err _ < <(load "$INCIDENT_STREAMS" "http://127.0.0.1:$GRPC_PORT/oauth_registry.v1.TokenService/ListTokens" \
    -d "$WORK/incident-list.grpc" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY")
  read -r c_rps _ _ c_err _ < <(load "$INCIDENT_STREAMS" "http://127.0.0.1:$GRPC_PORT/oauth_registry.v1.TokenService/CountTokens" \
    -d "$WORK/incident-count.grpc" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $KEY")
  dropped=$(incident_metric oauth_registry_audit_dropped_total)
  # The sink writes at least every 200 ms: let its last batch land.
  sleep 0.5
  after=$(incident_sql "SELECT count(*) FROM audit_events WHERE kind = 'read'")
  stop_server
  ROUND="$l_rps $c_rps $l_err $c_err $(python3 -c "print(f'{($after - $before) / max(($l_rps + $c_rps) * $DURATION, 1):.2f}')") ${dropped%.*}"
}

incident_audit_case() {
  "$CLIENT" frame --filter "user_id = \"$INCIDENT_OWNER\"" --page-size 100 "$WORK/incident-list.grpc" >/dev/null
  "$CLIENT" frame --count --filter "user_id = \"$INCIDENT_OWNER\"" "$WORK/incident-count.grpc" >/dev/null
  stop_server
  local r on off on_l="" off_l="" on_c="" off_c="" l_ratios="" c_ratios="" notes=""
  for r in $(seq 1 "$INCIDENT_ROUNDS"); do
    # Alternate which setting goes first, so drift on the machine hits both.
    if [ $(( r % 2 )) = 1 ]; then
      incident_audit_round on; on=$ROUND
      incident_audit_round off; off=$ROUND
    else
      incident_audit_round off; off=$ROUND
      incident_audit_round on; on=$ROUND
    fi
    echo "   audit round $r: on $on; off $off (list req/s, count req/s, list errors, count errors, read events per call, dropped)" >&2
    read -r a b _ _ _ _ <<<"$on"; on_l+="$a "; on_c+="$b "
    read -r c d _ _ _ _ <<<"$off"; off_l+="$c "; off_c+="$d "
    l_ratios+="$(ratio "$a" "$c") "; c_ratios+="$(ratio "$b" "$d") "
    notes+="r$r on $(echo "$on" | awk '{printf "%s/%s req/s, errors %s/%s, %s events per call, %s dropped", $1, $2, $3, $4, $5, $6}'), off $(echo "$off" | awk '{printf "%s/%s req/s, errors %s/%s, %s events per call", $1, $2, $3, $4, $5}'); "
  done
  start_server "$DB"
  local lo lf co cf
  lo=$(echo "$on_l" | median); lf=$(echo "$off_l" | median)
  co=$(echo "$on_c" | median); cf=$(echo "$off_c" | median)
  local what="${INCIDENT_STREAMS} concurrent (h2load), ${DURATION}s × $INCIDENT_ROUNDS rounds, read auditing on vs --no-audit-reads"
  row "$BACKEND | ListTokens(owner) 100, $what | $(printf %.0f "$lo") req/s (median) | $(printf %.0f "$lf") req/s (median) | $(ratio "$lo" "$lf")× (target ≥ 0.9) | per-round ratios ${l_ratios% } |"
  row "$BACKEND | CountTokens(owner), $what | $(printf %.0f "$co") req/s (median) | $(printf %.0f "$cf") req/s (median) | $(ratio "$co" "$cf")× (target ≥ 0.9) | per-round ratios ${c_ratios% }; list/count req/s, errors: ${notes%; } |"
}

# RFC 3339 (UTC, microseconds) of $1 microseconds since the epoch.
incident_rfc3339() {
  python3 -c "import datetime as d; print((d.datetime(1970, 1, 1, tzinfo=d.timezone.utc) + d.timedelta(microseconds=$1)).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))"
}

incident_revoke_case() {
  local n=$(( TOKENS / 10 )) r live off lo hi filter R rows_s="" p99_during="" p99_before="" ratios="" notes=""
  local by_time="FROM tokens WHERE org_id = '$ORG' AND revoked_at IS NULL ORDER BY created_at, id"
  for r in $(seq 1 "$INCIDENT_ROUNDS"); do
    # The n live tokens from rank `off` by creation time: the first one's
    # time and the next one's (exclusive; none for the newest n). Counted
    # on the live tokens now, so earlier rounds' windows are left out.
    live=$(incident_sql "SELECT count(*) FROM tokens WHERE org_id = '$ORG' AND revoked_at IS NULL")
    if [ "$live" -lt "$n" ] || [ "$n" -lt 1 ]; then
      row "$BACKEND | RevokeTokens round $r | skipped ($live live tokens, fewer than $n) | | | |"
      continue
    fi
    off=$(( INCIDENT_ROUNDS > 1 ? (r - 1) * (live - n) / (INCIDENT_ROUNDS - 1) : 0 ))
    lo=$(incident_sql "SELECT created_at $by_time LIMIT 1 OFFSET $off")
    hi=$(incident_sql "SELECT created_at $by_time LIMIT 1 OFFSET $(( off + n ))")
    filter="create_time >= \"$(incident_rfc3339 "$lo")\""
    [ -n "$hi" ] && filter+=" AND create_time < \"$(incident_rfc3339 "$hi")\""
    R=$("$CLIENT" --addr "http://127.0.0.1:$GRPC_PORT" revoke-under-load --filter "$filter" \
      --list-filter "user_id = \"$INCIDENT_OWNER\"" --page-size 10 --rate "$INCIDENT_RATE" --before "$INCIDENT_BEFORE")
    echo "   revoke round $r (live ranks $off-$(( off + n - 1 )) of $live; $filter): $R" >&2
    rows_s+="$(echo "$R" | json '["rows_per_sec"]') "
    p99_during+="$(echo "$R" | json '["during"]["p99_ms"]') "
    p99_before+="$(echo "$R" | json '["before"]["p99_ms"]') "
    ratios+="$(ratio "$(echo "$R" | json '["during"]["p99_ms"]')" "$(echo "$R" | json '["before"]["p99_ms"]')") "
    notes+="r$r (live ranks $off–$(( off + n - 1 )) of $live by creation time) $(echo "$R" | python3 -c "
import json, sys
r = json.load(sys.stdin)
w, b = r['during'], r['before']
print(f\"matched {r['matched']}, revoked {r['done']} in {r['seconds']:.2f} s ({r['rows_per_sec']:.0f} rows/s); \"
      f\"during: {w['calls']} calls, p50 {w['p50_ms']:.2f} ms, p99 {w['p99_ms']:.2f} ms, max {w['max_ms']:.1f} ms, errors {w['errors']}; \"
      f\"before ({b['seconds']:.2f} s): {b['calls']} calls, p50 {b['p50_ms']:.2f} ms, p99 {b['p99_ms']:.2f} ms, max {b['max_ms']:.1f} ms, errors {b['errors']}\")
"); "
  done
  [ -n "$rows_s" ] || return 0
  local rs pd pb
  rs=$(echo "$rows_s" | median); pd=$(echo "$p99_during" | median); pb=$(echo "$p99_before" | median)
  row "$BACKEND | RevokeTokens of $n of $TOKENS tokens (create_time window), confirmed run, with ListTokens(owner) 10 at $INCIDENT_RATE/s alongside, $INCIDENT_ROUNDS rounds | $(printf %.0f "$rs") rows/s (median); ListTokens p99 $(printf %.2f "$pd") ms during the run (median) | ListTokens p99 $(printf %.2f "$pb") ms in the equal period just before (median) | p99 $(ratio "$pd" "$pb")× | per-round p99 ratios ${ratios% }; ${notes%; } |"
}
