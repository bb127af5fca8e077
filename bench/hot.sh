# Sourced by bench/run.sh: the hot-path cases (issue 17), run per backend
# with $BACKEND, $DB, $BIN, $CLIENT, $WORK, $DURATION, $PG_ADMIN and the
# helpers of run.sh (load, json, ratio) in scope, while run.sh's server is up.
#
# The data set is the one issue 17 measured: a second organization of 10,000
# tokens of one user (10 clients), seeded next to the main one. Every case
# is measured twice with h2load in each of $HOT_ROUNDS rounds (hot_cases),
# the same client for gRPC and REST:
#   - one stream, one request at a time: the round trip's median (p50);
#   - 16 concurrent requests (gRPC: 2 connections x 8 streams; REST: 16
#     HTTP/1.1 connections, one request each at a time, no pipelining):
#     req/s, p99, and CPU per request = the server process's user + system
#     time over the requests it answered (/proc/<pid>/stat), plus on
#     PostgreSQL the database's backends' CPU (all `postgres` processes;
#     nothing else uses the database server during the run).
# The floor is a grpc.health.v1 Check in the same run; ratios are against it
# or against the case the issue names, in the same run. A gRPC GetToken (one
# point read by id) is the second floor: what any answer read from the
# database costs at least (on PostgreSQL one round trip to it; the
# round-trip cases are also shown against it).
#
# With --reviewboard, Review Board 8.1 itself (bench/reviewboard.sh: a venv
# built once, a SQLite site with 10,000 tokens of one user, gunicorn with 2
# workers) is loaded with the same h2load commands (authenticated by a
# session cookie), and the Review Board cases report the ratio of req/s.
#
# On SQLite the cases that show the per-call hand-off (count, grpc10,
# rest304, rb25) are measured again on servers restarted with the other
# ways reads can leave the async worker (OAUTH_REGISTRY_SQLITE_READS=
# blocking, in-place; src/store/sqlite_read.rs), against the default
# ($HOT_ALT_CASES, run.sh's --hot-alt-cases).

HOT_ROWS=()
hot_row() { local r="$*"; HOT_ROWS+=("| ${r% |} |"); }

# CPU ticks (user + system) of process $1 and its descendants (Review Board's
# server is a master and its workers).
hot_ticks() {
  local p s=0
  for p in $1 $(pgrep -P "$1" 2>/dev/null); do
    s=$(( s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  echo "$s"
}
# CPU ticks of the database server (0 on SQLite): every live postgres
# process, plus what the postmaster (the oldest) collected from backends and
# parallel workers that have exited (its cutime + cstime).
hot_db_ticks() {
  [ "$BACKEND" = postgres ] || { echo 0; return; }
  local p s=0 master
  master=$(pgrep -o -x postgres || true)
  for p in $(pgrep -x postgres); do
    s=$(( s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  [ -n "$master" ] && s=$(( s + $(awk '{print $16 + $17}' "/proc/$master/stat" 2>/dev/null || echo 0) ))
  echo "$s"
}

# hot_measure NAME PID URL ARGS...: prints "p50_1 rps p99 errors cpu_ms db_ms"
# (p50_1: median round trip with one request at a time; the rest at 16
# concurrent; cpu_ms and db_ms: milliseconds of CPU per answered request of
# the server process PID and of the database's processes).
hot_measure() {
  local pid=$1 url=$2; shift 2
  local seq rps p99 err b0 a0 d0 d1 ok
  read -r _ seq _ _ _ < <(load 1 "$url" "$@")
  b0=$(hot_ticks "$pid"); d0=$(hot_db_ticks)
  read -r rps _ p99 err _ < <(load 16 "$url" "$@")
  a0=$(hot_ticks "$pid"); d1=$(hot_db_ticks)
  ok=$(grep -o '[0-9]* succeeded' "$WORK/h2.out" | cut -d' ' -f1)
  python3 - "$seq" "$rps" "$p99" "$err" "$b0" "$a0" "$d0" "$d1" "${ok:-0}" "$(getconf CLK_TCK)" <<'EOF'
import sys
seq, rps, p99, err = sys.argv[1:5]
b0, a0, d0, d1, ok, hz = (int(x) for x in sys.argv[5:11])
per = lambda t: (t * 1000.0 / hz / ok) if ok else float("nan")
print(f"{seq} {rps} {p99} {err} {per(a0 - b0):.3f} {per(d1 - d0):.3f}")
EOF
}

# The ETag a GET of URL answers with (for the 304 cases).
hot_etag() {
  python3 - "$1" "$2" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": sys.argv[2]})
with urllib.request.urlopen(req) as r:
    print(r.headers.get("ETag", ""))
EOF
}

# hot_round NAME K: case NAME's figures in round K (hot_cases' R1, R2...).
hot_round() { local v="R$2[$1]"; echo "${!v}"; }
# The rounds' figure lines on stdin ("p50 rps p99 errors cpu db") as one
# line of medians (errors: the sum).
hot_median_fields() {
  python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
med = lambda i: statistics.median(float(r[i]) for r in rows)
print(f"{med(0):.3f} {med(1):.0f} {med(2):.2f} {sum(int(r[3]) for r in rows)} {med(4):.3f} {med(5):.3f}")'
}
# hot_rratio NUM DEN FIELD: the median over the rounds of case NUM's FIELD
# (1: round trip, 2: req/s, 5: CPU) over case DEN's, then each round's.
hot_rratio() {
  local k args=()
  for k in $(seq 1 "$HOT_ROUNDS"); do
    args+=("$(hot_round "$1" "$k" | cut -d' ' -f"$3")" "$(hot_round "$2" "$k" | cut -d' ' -f"$3")")
  done
  python3 - "${args[@]}" <<'EOF'
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
r = [a / b for a, b in zip(v[0::2], v[1::2]) if b]
print(f"{statistics.median(r):.2f}× (rounds: {', '.join(f'{x:.2f}' for x in r)})" if r else "n/a")
EOF
}

hot_cases() {
  local hot_key owner client_id token_id grpc rest g=() m name url
  # A full run's 20 s per phase would make these cases alone take 16
  # minutes.
  local DURATION=$HOT_DURATION
  stage "$BACKEND: hot-path cases (10,000 tokens of one user)"
  hot_key=$("$BIN" --database-url "$DB" seed --org hot --tokens 10000 --clients 10 --owners 1 2>/dev/null)
  owner=user-00001 # seed's first owner (src/cli/seed.rs `owner`)
  if [ "$BACKEND" = sqlite ]; then
    client_id=$(sqlite3 "$WORK/bench.db" "SELECT c.id FROM clients c JOIN orgs o ON o.id = c.org_id WHERE o.name = 'hot' ORDER BY c.id LIMIT 1")
    token_id=$(sqlite3 "$WORK/bench.db" "SELECT t.id FROM tokens t JOIN orgs o ON o.id = t.org_id WHERE o.name = 'hot' ORDER BY t.id LIMIT 1 OFFSET 5000")
  else
    client_id=$(psql -qtA "$DB" -c "SELECT c.id FROM clients c JOIN orgs o ON o.id = c.org_id WHERE o.name = 'hot' ORDER BY c.id LIMIT 1")
    token_id=$(psql -qtA "$DB" -c "SELECT t.id FROM tokens t JOIN orgs o ON o.id = t.org_id WHERE o.name = 'hot' ORDER BY t.id LIMIT 1 OFFSET 5000")
  fi
  "$CLIENT" frame --filter "user_id = \"$owner\"" --page-size 10 "$WORK/hot10.grpc" >/dev/null
  "$CLIENT" frame --filter "user_id = \"$owner\"" --page-size 100 "$WORK/hot100.grpc" >/dev/null
  "$CLIENT" frame --filter "user_id = \"$owner\"" --count "$WORK/hotcount.grpc" >/dev/null
  "$CLIENT" frame --get "$token_id" "$WORK/hotget.grpc" >/dev/null
  printf '\0\0\0\0\0' > "$WORK/health.grpc"
  grpc="http://127.0.0.1:$GRPC_PORT"; rest="http://127.0.0.1:$REST_PORT"
  g=(-H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $hot_key")
  local canon_q="pageSize=100&filter=user_id%20%3D%20%22$owner%22"
  local rb_tag canon_tag
  canon_tag=$(hot_etag "$rest/v1/tokens?$canon_q" "Bearer $hot_key")
  rb_tag=$(hot_etag "$rest/api/oauth-tokens/?max-results=25" "token $hot_key")
  # The owner's cases must select the owner's rows (a wrong owner name
  # once measured empty answers): stop if a page is short.
  python3 - "$rest" "$hot_key" "$canon_q" "$client_id" "$owner" <<'PY'
import json, sys, urllib.request
rest, key, q, client, owner = sys.argv[1:6]
def get(path):
    req = urllib.request.Request(rest + path, headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
got = {
    "canonical page": len(get("/v1/tokens?" + q).get("tokens", [])),
    "Siro page": len(get(f"/v1/core/oauth/apps/{client}/access-token?owner={owner}&limit=25").get("data", [])),
}
if got != {"canonical page": 100, "Siro page": 25}:
    sys.exit(f"hot cases: the owner's pages are short: {got}")
PY

  # name | url | h2load arguments (expanded when the case runs)
  local spec
  spec=$(cat <<EOF
health|$grpc/grpc.health.v1.Health/Check|-d "$WORK/health.grpc" -H 'content-type: application/grpc' -H 'te: trailers'
get1|$grpc/oauth_registry.v1.TokenService/GetToken|-d "$WORK/hotget.grpc" "\${g[@]}"
count|$grpc/oauth_registry.v1.TokenService/CountTokens|-d "$WORK/hotcount.grpc" "\${g[@]}"
grpc10|$grpc/oauth_registry.v1.TokenService/ListTokens|-d "$WORK/hot10.grpc" "\${g[@]}"
grpc100|$grpc/oauth_registry.v1.TokenService/ListTokens|-d "$WORK/hot100.grpc" "\${g[@]}"
rest100|$rest/v1/tokens?$canon_q|--h1 -H "authorization: Bearer $hot_key"
rest304|$rest/v1/tokens?$canon_q|--h1 -H "authorization: Bearer $hot_key" -H "if-none-match: \$canon_tag"
rb25|$rest/api/oauth-tokens/?max-results=25|--h1 -H "authorization: token $hot_key" -H 'accept: application/json'
rb200|$rest/api/oauth-tokens/?max-results=200|--h1 -H "authorization: token $hot_key" -H 'accept: application/json'
rbdeep|$rest/api/oauth-tokens/?start=9000&max-results=25|--h1 -H "authorization: token $hot_key" -H 'accept: application/json'
rbcount|$rest/api/oauth-tokens/?counts-only=1|--h1 -H "authorization: token $hot_key" -H 'accept: application/json'
rb304|$rest/api/oauth-tokens/?max-results=25|--h1 -H "authorization: token $hot_key" -H 'accept: application/json' -H "if-none-match: \$rb_tag"
siro|$rest/v1/core/oauth/apps/$client_id/access-token?owner=$owner&limit=25|--h1 -H "authorization: Bearer $hot_key"
EOF
)
  # hot_run ARRAY NAME...: measures the named cases (all when none is
  # named), in the order named, into the associative array ARRAY.
  hot_run() {
    local -n into=$1; shift
    local names=("$@") name url args
    [ ${#names[@]} -gt 0 ] || mapfile -t names < <(cut -d'|' -f1 <<< "$spec")
    for name in "${names[@]}"; do
      IFS='|' read -r _ url args < <(grep "^$name|" <<< "$spec")
      eval "m=($args)"
      case $name in *304) LOAD_OK=304 ;; *) LOAD_OK=200 ;; esac
      into[$name]=$(hot_measure "$SERVER_PID" "$url" "${m[@]}")
    done
  }
  # Every case is measured in $HOT_ROUNDS rounds of phases of
  # $HOT_DURATION / $HOT_ROUNDS s (rounded up), every other round in the
  # reverse order, so that a drift in the machine's speed during the run
  # (seen: the same request's CPU varying 0.38-0.65 ms between runs) falls
  # on both sides of each ratio instead of one. A figure shown is the
  # median over the rounds; a target ratio is the median of the rounds'
  # ratios, followed by each round's.
  local k names saved=$DURATION
  names=$(cut -d'|' -f1 <<< "$spec")
  DURATION=$(( (HOT_DURATION + HOT_ROUNDS - 1) / HOT_ROUNDS ))
  for k in $(seq 1 "$HOT_ROUNDS"); do
    declare -A "R$k"
    # shellcheck disable=SC2046 # one case name per line
    if (( k % 2 )); then hot_run "R$k" $names; else hot_run "R$k" $(tac <<< "$names"); fi
  done
  DURATION=$saved
  declare -A R BLOCKING INPLACE
  for name in $names; do
    R[$name]=$(for k in $(seq 1 "$HOT_ROUNDS"); do hot_round "$name" "$k"; done | hot_median_fields)
  done

  # How SQLite reads leave the async worker (src/store/sqlite_read.rs):
  # the default runs them inline (point reads always, listings and counts
  # within a step budget); the alternatives, spawn_blocking for every read
  # and block_in_place, on a server restarted with each.
  if [ "$BACKEND" = sqlite ] && [ -n "${HOT_ALT_CASES// /}" ]; then
    stage "$BACKEND: hot-path cases, the SQLite hand-off alternatives ($HOT_ALT_CASES)"
    stop_server
    SERVE_ENV="OAUTH_REGISTRY_SQLITE_READS=blocking" start_server "$DB"
    # shellcheck disable=SC2086 # a list of case names
    hot_run BLOCKING $HOT_ALT_CASES
    stop_server
    SERVE_ENV="OAUTH_REGISTRY_SQLITE_READS=in-place" start_server "$DB"
    # shellcheck disable=SC2086
    hot_run INPLACE $HOT_ALT_CASES
    stop_server
    start_server "$DB"
  fi

  # The Review Board pages again with no answer kept (src/rest/answers.rs):
  # h2load repeats one URL, so above every request but the first is sent
  # from memory; this is what a page not asked before at this version
  # costs (each poller's first request, every request after a write).
  declare -A NOTKEPT
  stage "$BACKEND: Review Board pages with OAUTH_REGISTRY_ANSWER_CACHE=off"
  stop_server
  SERVE_ENV="OAUTH_REGISTRY_ANSWER_CACHE=off" start_server "$DB"
  hot_run NOTKEPT rb25 rb200 rbdeep
  stop_server
  start_server "$DB"

  # Review Board 8.1 itself, the same requests (bench/reviewboard.sh).
  LOAD_OK=200
  declare -A RB
  if [ "${HOT_REVIEWBOARD:-0}" = 1 ] && [ "$BACKEND" = "${HOT_RB_BACKEND:-sqlite}" ]; then
    if rb_setup && rb_start; then
      for name in rb25 rb200 rbdeep rbcount; do
        case $name in
          rb25) url="$RB_URL/api/oauth-tokens/?max-results=25" ;;
          rb200) url="$RB_URL/api/oauth-tokens/?max-results=200" ;;
          rbdeep) url="$RB_URL/api/oauth-tokens/?start=9000&max-results=25" ;;
          rbcount) url="$RB_URL/api/oauth-tokens/?counts-only=1" ;;
        esac
        # A session cookie: the cheapest authentication Review Board
        # accepts for this resource (bench/reviewboard.sh explains why).
        RB[$name]=$(hot_measure "$RB_PID" "$url" --h1 "${RB_HEADERS[@]}")
      done
      rb_stop
    else
      echo "Review Board 8.1 could not be set up; its rows say so" >&2
    fi
  fi

  local floor
  floor=$(echo "${R[health]}" | cut -d' ' -f1)
  hot_line() { # name label against-text ratio-text
    local seq rps p99 err cpu db
    read -r seq rps p99 err cpu db <<< "${R[$1]}"
    local cpu_text="$cpu ms"
    [ "$BACKEND" = postgres ] && cpu_text="$cpu ms + database $db ms"
    hot_row "$BACKEND | $2 | $rps | $p99 ms | $cpu_text | $seq ms | $err | ${3:-} | ${4:-} |"
  }
  field() { echo "${R[$1]}" | cut -d' ' -f"$2"; }
  rbfield() { echo "${RB[$1]:-}" | cut -d' ' -f"$2"; }
  rb_against() { # name: Review Board 8.1's figures in this run
    if [ -n "${RB[$1]:-}" ]; then echo "Review Board 8.1: $(rbfield "$1" 2) req/s, p99 $(rbfield "$1" 3) ms, CPU $(rbfield "$1" 5) ms/req"
    else echo "Review Board 8.1 not run (--reviewboard)"; fi
  }
  rb_ratio() { # name: req/s against Review Board 8.1's
    [ -n "${RB[$1]:-}" ] && echo "$(ratio "$(field "$1" 2)" "$(rbfield "$1" 2)")× its req/s"
  }
  hot_line health "grpc.health.v1 Check (the floor)" "" ""
  local read1
  read1=$(field get1 1)
  # vs_read NAME: the case's round trip against GetToken's (one point read;
  # the ratio of the medians).
  vs_read() { echo "; $(ratio "$(field "$1" 1)" "$read1")× GetToken's"; }
  hot_line get1 "gRPC GetToken, one token by id (one point read: the floor of an answer read from the database)" "health round trip $floor ms" "$(hot_rratio get1 health 1)"
  hot_line count "gRPC CountTokens of the owner (10,000)" "health round trip $floor ms; GetToken $read1 ms" "$(hot_rratio count health 1) (target ≤ 1.5)$(vs_read count)"
  hot_line grpc10 "gRPC ListTokens, 10 rows of the owner" "health round trip $floor ms; GetToken $read1 ms" "$(hot_rratio grpc10 health 1) (target ≤ 2)$(vs_read grpc10)"
  hot_line grpc100 "gRPC ListTokens, 100 rows of the owner" "" ""
  hot_line rest100 "canonical REST GET /v1/tokens, the same 100 rows" "gRPC ListTokens 100: $(field grpc100 2) req/s" "$(hot_rratio rest100 grpc100 2) its req/s (target ≥ 0.8)"
  hot_line rest304 "canonical REST, the same GET with If-None-Match: 304" "health round trip $floor ms; GetToken $read1 ms" "$(hot_rratio rest304 health 1) (target ≤ 1.2)$(vs_read rest304)"
  hot_line rb25 "Review Board /api/oauth-tokens/?max-results=25" "$(rb_against rb25)" "$(rb_ratio rb25) (target ≥ 100×; CPU ≤ 0.2 ms, p99 ≤ 10 ms)"
  hot_line rb200 "Review Board max-results=200" "$(rb_against rb200)" "$(rb_ratio rb200)"
  hot_line rbdeep "Review Board start=9000&max-results=25" "start=0: CPU $(field rb25 5) ms/req; $(rb_against rbdeep)" "CPU $(hot_rratio rbdeep rb25 5) of start=0 (target ≤ 2); $(rb_ratio rbdeep)"
  hot_line rbcount "Review Board counts-only=1" "$(rb_against rbcount)" "$(rb_ratio rbcount)"
  hot_line rb304 "Review Board max-results=25 with If-None-Match: 304" "health round trip $floor ms; GetToken $read1 ms" "$(hot_rratio rb304 health 1) (target ≤ 1.2)$(vs_read rb304)"
  hot_line siro "Siro GET /v1/core/oauth/apps/{clientId}/access-token, 25 rows" "" ""
  hot_alt() { # ARRAY label
    local -n alt=$1
    local name seq rps p99 err cpu db
    for name in $HOT_ALT_CASES; do
      [ -n "${alt[$name]:-}" ] || continue
      read -r seq rps p99 err cpu db <<< "${alt[$name]}"
      hot_row "$BACKEND | $name, SQLite reads by $2 | $rps | $p99 ms | $cpu ms | $seq ms | $err | inline (default): $(field "$name" 2) req/s, CPU $(field "$name" 5) ms | req/s $(ratio "$rps" "$(field "$name" 2)")×, CPU $(ratio "$cpu" "$(field "$name" 5)")× of inline |"
    done
  }
  notkept_line() { # name label
    local seq rps p99 err cpu db
    read -r seq rps p99 err cpu db <<< "${NOTKEPT[$1]}"
    local cpu_text="$cpu ms"
    [ "$BACKEND" = postgres ] && cpu_text="$cpu ms + database $db ms"
    local vs=""
    [ -n "${RB[$1]:-}" ] && vs="; $(ratio "$rps" "$(rbfield "$1" 2)")× Review Board 8.1's req/s"
    [ "$1" = rbdeep ] && vs="$vs; CPU $(ratio "$cpu" "$(echo "${NOTKEPT[rb25]}" | cut -d' ' -f5)")× of start=0 not kept (target ≤ 2)"
    hot_row "$BACKEND | $2, no answer kept (every request computed) | $rps | $p99 ms | $cpu_text | $seq ms | $err | kept (default): $(field "$1" 2) req/s, CPU $(field "$1" 5) ms | CPU $(ratio "$cpu" "$(field "$1" 5)")× of kept$vs |"
  }
  notkept_line rb25 "Review Board max-results=25"
  notkept_line rb200 "Review Board max-results=200"
  notkept_line rbdeep "Review Board start=9000&max-results=25"
  hot_alt BLOCKING spawn_blocking
  hot_alt INPLACE block_in_place
}
