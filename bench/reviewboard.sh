# Sourced by bench/run.sh (or any bash script; works under set -euo pipefail):
# runs the real Review Board 8.1 from PyPI beside our service on the same data
# shape, so that its OAuth token listing can be loaded with h2load: 10,000
# OAuth2 access tokens (django-oauth-toolkit AccessToken rows of one OAuth
# Application) belonging to one user, listed by GET /api/oauth-tokens/.
#
#   rb_setup   cached and idempotent: a virtualenv with ReviewBoard==8.1 and
#              gunicorn, a site (sqlite3 database, file cache: no memcached),
#              the user "bench" with the tokens, and a Review Board API token
#              (WebAPIToken) of that user. Exports RB_AUTH and RB_TOKEN_AUTH.
#   rb_start   gunicorn on a free 127.0.0.1 port; waits until it answers, logs
#              in once, checks that ?counts-only=1 gives {"count": 10000,
#              "stat": "ok"}, warms the workers up. Exports RB_URL, RB_COOKIE,
#              RB_PID and sets the array RB_HEADERS.
#   rb_stop    stops it (SIGTERM, gunicorn's graceful stop; SIGKILL after
#              15 s). Call it from the caller's EXIT trap, before removing $WORK.
#
#   . bench/reviewboard.sh
#   rb_setup && rb_start
#   h2load --h1 -D 5 -c 16 -m 1 "${RB_HEADERS[@]}" "$RB_URL/api/oauth-tokens/?max-results=25"
#   rb_stop
#
# The first rb_setup took 88-95 s on this 2-core machine, with another build
# running and no pip cache: pip install 70-78 s, rb-site install 6-7 s,
# seeding 10-11 s. Later calls only read the stamp in the cache (under 1 s).
# rb_start takes 5-8 s: each worker loads Review Board on its first request
# (~2 s), and the warm-up absorbs that.
#
# The facts below come from Review Board 8.1's own install (what rb-site
# install generates and the installed reviewboard/djblets sources) and from
# running it here:
#
# - Authentication. The oauth-tokens resource sets api_token_access_allowed =
#   False and oauth2_token_access_allowed = False, so "Authorization: token
#   <WebAPIToken>" gets 403 {"err": {"code": 101, ...}} (and so would an
#   OAuth2 bearer token). Only a password login (HTTP Basic) or a session
#   cookie can list the tokens. RB_AUTH is therefore "Basic <bench:password>";
#   RB_TOKEN_AUTH keeps "token <WebAPIToken>" for other resources. Basic alone
#   runs Django's PBKDF2 (600,000 iterations) and creates a new session on
#   EVERY request, about 0.4 s of CPU each (2-5 req/s here), so a benchmark
#   would measure password hashing. A client that logged in once sends the
#   session cookie (rbsessionid). Review Board's own web UI does this.
#   RB_HEADERS (Accept: application/json + Cookie: $RB_COOKIE) is that
#   cheapest authenticated path. Adding "Authorization: $RB_AUTH" to it
#   skips the re-hash (the session's user matches) but costs one more query.
# - Rate limits. djblets limits API requests by default to 10000/h per user
#   for requests with an Authorization header and to 1000/h for all others
#   (per user, so including cookie-authenticated ones, or per IP), and
#   answers 429 (error 114) beyond: a load test hits that in seconds and the
#   counters persist in the cache. rb_setup raises both limits in
#   conf/settings_local.py and keeps their counting, a cache incr per request
#   (here a file rewrite), as in a default install.
# - No setting gates the listing: the oauth.service feature is STABLE and on
#   by default (rb_setup asserts it). Per request Review Board runs about 20
#   middlewares (session read from the cache, user and profile queries,
#   rate-limit counter), COUNT(*) over a LEFT JOIN of the applications, and
#   the page query. The page query has no ORDER BY, so pages follow SQLite's
#   row order and ?start= is an OFFSET. It then serializes each item with three
#   reversed URLs (links) and hashes the body into an ETag. Server CPU per
#   request measured here: 24-29 ms for 25 items (a 10.8 KB body, token
#   secrets included), 16-21 ms for counts-only, 26-37 ms at start=9000,
#   so about 2000/25 = 80 req/s is the most 2 idle cores could serve.
# - rb-site install --cache-type takes memcached or file: a file cache under
#   the site's data/ is used (sessions are cached_db: read through it).
# - Serving: gunicorn, 2 gthread workers x 1 thread (RB_WORKERS,
#   RB_THREADS, RB_WORKER_CLASS). The generated conf/webconfs/run-gunicorn.sh
#   suggests 6 workers x 30 threads, which is sized for a bigger host. The
#   work is CPU-bound Python, so one single-threaded process per core avoids
#   sharing the GIL. Sync 2, gthread 2 x 4 and gthread 3 x 1 did no better
#   within the noise of this shared machine (two interleaved rounds of 5 s
#   each). gthread rather than sync because the sync worker closes
#   every connection, and Debian's h2load 1.52 can then hang forever at the
#   end of a -D run (nghttp2 issue 2250, fixed in 1.64); it happened here.
# - DEBUG is False, as rb-site writes it. The site's log level stays at the
#   DEBUG that rb-site sets, which logs nothing per cookie-authenticated
#   listing request.
# - The site has a venv symlink, and reviewboard.wsgi then requires
#   virtualenv's activate_this.py unless VIRTUAL_ENV is set: rb_start sets it.
# - Creating an API token e-mails its owner (SMTP to localhost:25); the bench
#   user has no e-mail address so that nothing is attempted.
# - ReviewBoard 8.1 on PyPI depends on ReviewBoardPowerPack (closed source,
#   shipped as .pyc) and rbintegrations; rb-site enables both. They add no
#   middleware and did not show up in a profile of the listing. Power Pack's
#   tables only appear once the web server has run, so seeding (before that)
#   logs two harmless, caught ERRORs from its user-saved hook ("no such
#   table: rbpowerpack_licenseduser") in seed.log and the site's log.
#
# Knobs: RB_CACHE (default ${CARGO_TARGET_DIR:-target}/reviewboard-8.1; the
# stamp in it also keys on the Python version, the token count and the
# pinning), RB_PYTHON (an interpreter >= 3.9; default: the first of
# python3.11, 3.12, 3.13, 3.10, 3.9 and python3 that runs), RB_TOKENS (10000),
# RB_WORKERS (2), RB_THREADS (1), RB_WORKER_CLASS (gthread), RB_LOG (the
# server's log; default $WORK/reviewboard.log, else the cache dir), and
# RB_UNPINNED=1 (install without the constraints below: the versions pip
# resolved for ReviewBoard==8.1 when this file was written, all wheels or pure
# Python for CPython 3.11).

RB_VERSION=8.1
RB_GUNICORN_VERSION=27.0.1
RB_USER=bench
RB_PASSWORD=bench-password
RB_PID=""
RB_HEADERS=()

_rb_log() { echo "reviewboard: $*" >&2; }
_rb_die() { echo "reviewboard: error: $*" >&2; return 1; }
_rb_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

_rb_constraints() {
  cat <<'EOF'
amqp==5.4.2
annotated-types==0.8.0
asana==5.0.16
asgiref==3.13.0
bcrypt==5.0.0
billiard==4.3.2
bleach==6.4.0
boto3==1.37.38
botocore==1.37.38
celery==5.7.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
click-didyoumean==0.3.1
click-plugins==1.1.1.2
click-repl==0.4.1
cryptography==49.0.0
diff-match-patch==20241021
Django==4.2.30
django-assert-queries==2.0.1
django-braces==1.13.0
django-cors-headers==3.11.0
django-haystack==3.3.0
django-oauth-toolkit==1.6.3
django-pipeline==3.1.0
django-storages==1.14.6
django_evolution==2.4.2
Djblets==6.1
dnspython==2.9.2
docutils==0.23.1
housekeeping==1.1
idna==3.20
importlib_metadata==10.2.0
importlib_resources==7.1.0
jmespath==1.1.0
jwcrypto==1.6.1
kgb==7.3
kombu==5.7.0
lazy-importer==0.1.0
Markdown==3.11.3
mimeparse==0.1.3
oauthlib==4.0.1
packaging==26.4
paramiko==3.4.1
pdfminer.six==20260107
pillow==13.0.0
prompt_toolkit==3.0.53
publicsuffixlist==0.10.1.20240618
pycparser==3.12
pydantic==2.14.4
pydantic_core==2.50.5
pydiffx==1.1
Pygments==2.19.2
pymdown-extensions==10.21.3
pymemcache==4.0.0
PyNaCl==1.6.2
pyOpenSSL==26.3.0
python-dateutil==2.9.0.post0
python-gitlab==8.6.0
python-ntlm3==1.0.2
pytz==2026.6
PyYAML==6.0.4
rbintegrations==5.0.1
requests==2.34.2
requests-toolbelt==1.0.0
ReviewBoardPowerPack==6.1.1
s3transfer==0.11.5
six==1.17.0
sqlparse==0.6.1
tqdm==4.66.6
typelets==1.1
typing-inspection==0.4.5
typing_extensions==4.16.0
tzlocal==5.4.5
urllib3==2.8.0
vine==5.1.0
wcwidth==0.9.4
webencodings==0.6.1
Whoosh==2.7.4
zipp==4.1.2
EOF
}

# Seeds the site; run by `rb-site manage SITE shell -c`. Prints
# "SEED <count> <WebAPIToken>" last.
_rb_seed_py() {
  cat <<'EOF'
import os, secrets
from datetime import timedelta
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from djblets.secrets.token_generators import token_generator_registry
from oauth2_provider.models import AccessToken
from reviewboard.oauth.features import oauth2_service_feature
from reviewboard.oauth.models import Application
from reviewboard.webapi.models import WebAPIToken

n = int(os.environ['RB_SEED_TOKENS'])
assert oauth2_service_feature.is_enabled(), 'oauth.service feature is off'
with transaction.atomic():
    user, _ = User.objects.get_or_create(username=os.environ['RB_SEED_USER'])
    user.email = ''  # no e-mail: token creation would try SMTP on localhost
    user.set_password(os.environ['RB_SEED_PASSWORD'])
    user.save()
    app, _ = Application.objects.get_or_create(
        name='bench', user=user,
        defaults=dict(client_type=Application.CLIENT_CONFIDENTIAL,
                      authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                      redirect_uris=''))
    AccessToken.objects.filter(user=user).delete()
    now = timezone.now()
    AccessToken.objects.bulk_create(
        [AccessToken(user=user, application=app, token=secrets.token_urlsafe(30),
                     expires=now + timedelta(days=365, seconds=i), scope='root:read')
         for i in range(n)], batch_size=500)
    WebAPIToken.objects.filter(user=user).delete()
    api_token = WebAPIToken.objects.generate_token(
        user, note='bench', policy={},
        token_generator_id=token_generator_registry.get_default().token_generator_id,
        token_info={'token_type': 'rbp'})
print('SEED', AccessToken.objects.filter(user=user).count(), api_token.token)
EOF
}

_rb_python() {
  local py
  for py in ${RB_PYTHON:-python3.11 python3.12 python3.13 python3.10 python3.9 python3}; do
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
      echo "$py"; return 0
    fi
  done
  _rb_die "no Python >= 3.9 with venv/ensurepip found (tried: ${RB_PYTHON:-python3.11 python3.12 python3.13 python3.10 python3.9 python3}); set RB_PYTHON"
}

_rb_paths() {
  RB_CACHE=$(realpath -m "${RB_CACHE:-${CARGO_TARGET_DIR:-target}/reviewboard-$RB_VERSION}")
  RB_VENV=$RB_CACHE/venv
  RB_SITE=$RB_CACHE/site
  # rb_start reads this, not RB_CACHE, which `RB_CACHE=dir rb_setup` only sets
  # for the duration of the call.
  _RB_DIR=$RB_CACHE
  RB_TOKENS=${RB_TOKENS:-10000}
}

rb_setup() {
  local t0 t py pyver stamp
  t0=$EPOCHREALTIME
  _rb_paths
  command -v curl >/dev/null 2>&1 || { _rb_die "curl is required"; return 1; }
  py=$(_rb_python) || return 1
  pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  stamp="site=4 reviewboard=$RB_VERSION gunicorn=$RB_GUNICORN_VERSION python=$pyver tokens=$RB_TOKENS user=$RB_USER pinned=$([ "${RB_UNPINNED:-0}" = 1 ] && echo no || echo yes)"
  mkdir -p "$RB_CACHE"

  if [ "$(cat "$RB_CACHE/ready" 2>/dev/null)" = "$stamp" ] && [ -s "$RB_CACHE/api-token" ]; then
    _rb_log "cached in $RB_CACHE ($stamp)"
  else
    rm -f "$RB_CACHE/ready"
    # 1. The virtualenv (its own stamp: a changed seed keeps the install).
    if [ "$(cat "$RB_VENV/.installed" 2>/dev/null)" != "$RB_VERSION $RB_GUNICORN_VERSION $pyver ${RB_UNPINNED:-0}" ]; then
      t=$EPOCHREALTIME
      _rb_log "installing ReviewBoard==$RB_VERSION and gunicorn==$RB_GUNICORN_VERSION into $RB_VENV with $py ($pyver); log: $RB_CACHE/pip.log"
      rm -rf "$RB_VENV" "$RB_SITE"
      "$py" -m venv "$RB_VENV" || { _rb_die "$py -m venv $RB_VENV failed"; return 1; }
      _rb_constraints > "$RB_CACHE/constraints.txt"
      local cons=(-c "$RB_CACHE/constraints.txt")
      [ "${RB_UNPINNED:-0}" = 1 ] && cons=()
      if ! "$RB_VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
           "${cons[@]}" "ReviewBoard==$RB_VERSION" "gunicorn==$RB_GUNICORN_VERSION" > "$RB_CACHE/pip.log" 2>&1; then
        tail -n 30 "$RB_CACHE/pip.log" >&2
        _rb_die "pip install ReviewBoard==$RB_VERSION failed (full log: $RB_CACHE/pip.log; RB_UNPINNED=1 lets pip pick newer dependencies)"
        return 1
      fi
      "$RB_VENV/bin/python" -m pip freeze --disable-pip-version-check > "$RB_CACHE/pip-freeze.txt" 2>/dev/null || true
      echo "$RB_VERSION $RB_GUNICORN_VERSION $pyver ${RB_UNPINNED:-0}" > "$RB_VENV/.installed"
      _rb_log "pip install took $(_rb_since "$t") s"
    fi
    [ -x "$RB_VENV/bin/rb-site" ] && [ -x "$RB_VENV/bin/gunicorn" ] ||
      { _rb_die "$RB_VENV lacks rb-site or gunicorn: remove $RB_CACHE and retry"; return 1; }

    # 2. The site: sqlite3, a file cache, no memcached.
    t=$EPOCHREALTIME
    rm -rf "$RB_SITE" "$RB_CACHE/sitelist"
    if ! "$RB_VENV/bin/rb-site" install --noinput --no-color \
         --domain-name 127.0.0.1 --allowed-host localhost --site-root / \
         --db-type sqlite3 --db-name "$RB_SITE/data/reviewboard.db" \
         --cache-type file --cache-info "$RB_SITE/data/cache" \
         --admin-user admin --admin-password admin-password --admin-email admin@example.com \
         --company bench --opt-out-support-data --sitelist "$RB_CACHE/sitelist" \
         "$RB_SITE" > "$RB_CACHE/rb-site-install.log" 2>&1; then
      tail -n 30 "$RB_CACHE/rb-site-install.log" >&2
      _rb_die "rb-site install failed (full log: $RB_CACHE/rb-site-install.log)"
      return 1
    fi
    grep -q '^DEBUG = False' "$RB_SITE/conf/settings_local.py" ||
      { _rb_die "$RB_SITE/conf/settings_local.py does not set DEBUG = False"; return 1; }
    cat >> "$RB_SITE/conf/settings_local.py" <<'EOF'

# Added by bench/reviewboard.sh: djblets' default API rate limits would answer
# a load test 429 (error 114) within seconds: 10000/h per user for requests
# with an Authorization header, 1000/h (per user, or per IP if anonymous) for
# all others, including those authenticated by the session cookie. These lift
# the limits and keep their per-request counting (a cache incr, here a file
# rewrite) as in a default install.
API_AUTHENTICATED_LIMIT_RATE = "1000000000/h"
API_ANONYMOUS_LIMIT_RATE = "1000000000/h"
EOF
    _rb_log "rb-site install took $(_rb_since "$t") s"

    # 3. The user, the application, the tokens and an API token.
    t=$EPOCHREALTIME
    local seed_out count
    if ! seed_out=$(RB_SEED_TOKENS=$RB_TOKENS RB_SEED_USER=$RB_USER RB_SEED_PASSWORD=$RB_PASSWORD \
         "$RB_VENV/bin/rb-site" manage "$RB_SITE" shell -- -c "$(_rb_seed_py)" 2> "$RB_CACHE/seed.log"); then
      tail -n 30 "$RB_CACHE/seed.log" >&2
      _rb_die "seeding failed (full log: $RB_CACHE/seed.log)"
      return 1
    fi
    read -r _ count RB_TOKEN < <(grep '^SEED ' <<< "$seed_out" | tail -n 1) || true
    [ "${count:-}" = "$RB_TOKENS" ] && [ -n "${RB_TOKEN:-}" ] ||
      { _rb_die "seeding created ${count:-no} tokens, not $RB_TOKENS (log: $RB_CACHE/seed.log)"; return 1; }
    echo "$RB_TOKEN" > "$RB_CACHE/api-token"
    _rb_log "seeding $RB_TOKENS tokens took $(_rb_since "$t") s"
    echo "$stamp" > "$RB_CACHE/ready"
  fi

  RB_TOKEN=$(cat "$RB_CACHE/api-token")
  RB_TOKEN_AUTH="token $RB_TOKEN"
  RB_AUTH="Basic $(printf '%s:%s' "$RB_USER" "$RB_PASSWORD" | base64 -w0)"
  export RB_CACHE RB_VENV RB_SITE RB_TOKENS RB_AUTH RB_TOKEN_AUTH
  _rb_log "setup done in $(_rb_since "$t0") s; RB_AUTH=$RB_AUTH (Basic, user $RB_USER; API token auth is refused by /api/oauth-tokens/)"
}

rb_start() {
  local t0 port log workers threads cls code out
  t0=$EPOCHREALTIME
  [ -n "${_RB_DIR:-}" ] && [ -f "$_RB_DIR/ready" ] || { _rb_die "run rb_setup first"; return 1; }
  if [ -n "$RB_PID" ] && kill -0 "$RB_PID" 2>/dev/null; then _rb_log "already running at $RB_URL"; return 0; fi
  workers=${RB_WORKERS:-2}
  threads=${RB_THREADS:-1}
  cls=${RB_WORKER_CLASS:-gthread}
  log=${RB_LOG:-${WORK:-$_RB_DIR}/reviewboard.log}
  port=$("$RB_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
    { _rb_die "could not find a free port"; return 1; }
  RB_URL=http://127.0.0.1:$port
  # gthread keeps connections alive (the sync worker closes each one).
  (cd "$RB_SITE" && exec env VIRTUAL_ENV="$RB_VENV" REVIEWBOARD_SITEDIR="$RB_SITE" \
     "$RB_VENV/bin/gunicorn" --bind "127.0.0.1:$port" --worker-class "$cls" --workers "$workers" --threads "$threads" \
     --timeout 120 --no-control-socket --log-level warning --error-logfile "$log" \
     reviewboard.wsgi:application) >> "$log" 2>&1 &
  RB_PID=$!
  for _ in $(seq 1 240); do
    if ! kill -0 "$RB_PID" 2>/dev/null; then
      tail -n 30 "$log" >&2; RB_PID=""
      _rb_die "gunicorn exited during start-up (log: $log)"; return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$RB_URL/api/" || true)
    [ "$code" = 200 ] && break
    sleep 0.25
  done
  [ "$code" = 200 ] || { tail -n 30 "$log" >&2; rb_stop; _rb_die "no answer from $RB_URL/api/ in 60 s (log: $log)"; return 1; }

  # One password login; the session cookie authenticates the rest.
  RB_COOKIE=$(curl -s -o /dev/null -D - --max-time 30 -u "$RB_USER:$RB_PASSWORD" -H 'Accept: application/json' \
    "$RB_URL/api/session/" | tr -d '\r' | grep -io 'rbsessionid=[^;]*' | head -n 1 || true)
  [ -n "$RB_COOKIE" ] || { rb_stop; _rb_die "login as $RB_USER gave no session cookie (log: $log)"; return 1; }
  RB_HEADERS=(-H "Accept: application/json" -H "Cookie: $RB_COOKIE")
  out=$(curl -s --max-time 30 "${RB_HEADERS[@]}" "$RB_URL/api/oauth-tokens/?counts-only=1" || true)
  [ "$out" = "{\"count\": $RB_TOKENS, \"stat\": \"ok\"}" ] ||
    { rb_stop; _rb_die "counts-only gave '$out', expected {\"count\": $RB_TOKENS, \"stat\": \"ok\"}"; return 1; }

  # Each worker loads Review Board on its first request (~2 s): warm all of
  # them up outside the measurement.
  local warm=()
  for _ in 1 2; do
    for _ in $(seq 1 $(( workers * (threads > 4 ? threads : 4) ))); do
      curl -s -o /dev/null --max-time 60 "${RB_HEADERS[@]}" "$RB_URL/api/oauth-tokens/?max-results=25" &
      warm+=($!)
    done
    wait "${warm[@]}" 2>/dev/null || true
    warm=()
  done
  export RB_URL RB_COOKIE RB_PID
  _rb_log "serving $RB_URL with gunicorn ($workers $cls workers x $threads threads, pid $RB_PID, log $log), started in $(_rb_since "$t0") s"
}

rb_stop() {
  [ -n "${RB_PID:-}" ] || return 0
  kill -TERM "$RB_PID" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$RB_PID" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$RB_PID" 2>/dev/null && { _rb_log "gunicorn $RB_PID did not stop in 15 s: SIGKILL"; kill -KILL "$RB_PID" 2>/dev/null || true; }
  wait "$RB_PID" 2>/dev/null || true
  RB_PID=""
}
