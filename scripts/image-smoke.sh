#!/usr/bin/env bash
# Runs the binary the way the Docker image runs it, without a container
# engine (none is installed where this project is built and tested): the
# image's filesystem layout (/usr/local/bin/oauth-registry, a writable /data
# and nothing else writable), as the image's non-root user (uid 10001), with
# only the environment the Dockerfile's ENV lines set, then checks what a
# container runtime and Kubernetes would: the HEALTHCHECK command, the
# liveness and readiness probes (gRPC and HTTP), a write to /data, and that
# SIGTERM ends it with exit 0 within delay + grace.
#
# How: a private mount namespace (unshare -m) holds a new root made of
# read-only bind mounts of this machine's /usr, /lib*, /etc, /bin, /sbin,
# /dev and /proc, the binary at /usr/local/bin, a tmpfs /data owned by
# 10001 and a tmpfs /tmp; the server runs chrooted there under setpriv.
# Not covered: the image's own Debian userland (this machine's is used),
# `docker build` itself, and Docker's network namespace (the ports are
# published on this machine's loopback, replaced by free ones if the
# image's 50051/8080 are taken). Needs root (for the namespace).
#
#   bash scripts/image-smoke.sh            # release build
#   BUILD_PROFILE=test bash scripts/image-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "image-smoke: needs root (a private mount namespace and chroot)" >&2
  exit 1
fi
source scripts/build-bins.sh
HOST_BIN=$PWD/$BIN

# The image's environment: the Dockerfile's ENV lines, nothing else.
mapfile -t IMAGE_ENV < <(
  awk '/^ENV /{on=1; sub(/^ENV /,"")} on{line=$0; cont=sub(/\\$/,"",line); print line; if(!cont) on=0}' Dockerfile |
    tr -s ' ' '\n' | grep '='
)
echo "== image environment: ${IMAGE_ENV[*]}"
env_value() {
  local kv
  for kv in "${IMAGE_ENV[@]}"; do
    if [ "${kv%%=*}" = "$1" ]; then echo "${kv#*=}"; fi
  done
  return 0
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
GRPC_PORT=$(env_value OAUTH_REGISTRY_GRPC_ADDR); GRPC_PORT=${GRPC_PORT##*:}
REST_PORT=$(env_value OAUTH_REGISTRY_REST_ADDR); REST_PORT=${REST_PORT##*:}
if port_taken "$GRPC_PORT"; then GRPC_PORT=$(free_port); fi
if port_taken "$REST_PORT"; then REST_PORT=$(free_port); fi
IMAGE_ENV+=("OAUTH_REGISTRY_GRPC_ADDR=0.0.0.0:$GRPC_PORT" "OAUTH_REGISTRY_REST_ADDR=0.0.0.0:$REST_PORT")

ROOT=$(mktemp -d /tmp/image-root.XXXXXX)
BIN_DIR_IMAGE=$(mktemp -d /tmp/image-bin.XXXXXX)
LOG=$(mktemp /tmp/image-smoke-log.XXXXXX)
chmod 0755 "$BIN_DIR_IMAGE"
install -m 0755 "$HOST_BIN" "$BIN_DIR_IMAGE/oauth-registry"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  rm -rf "$BIN_DIR_IMAGE" "$LOG"
  rmdir "$ROOT" 2>/dev/null || true
}
trap cleanup EXIT

# The container: everything read-only but /data and /tmp. unshare, bash,
# chroot, setpriv, env and sh each exec the next, so $SERVER_PID is the
# server's own pid (the one signalled, as Docker signals the entrypoint).
unshare --mount --propagation private bash -c '
  set -euo pipefail
  root=$1 bin=$2; shift 2
  mount -t tmpfs -o size=8m,mode=0755 image-root "$root"
  for d in usr lib lib32 lib64 libx32 etc bin sbin; do
    if [ -L "/$d" ]; then cp -P "/$d" "$root/$d"
    elif [ -d "/$d" ]; then
      mkdir "$root/$d"
      mount --rbind "/$d" "$root/$d"
      mount -o remount,bind,ro "$root/$d"
    fi
  done
  for d in dev proc; do mkdir "$root/$d"; mount --rbind "/$d" "$root/$d"; done
  mount --bind "$bin" "$root/usr/local/bin"
  mount -o remount,bind,ro "$root/usr/local/bin"
  mkdir "$root/data" "$root/tmp"
  mount -t tmpfs -o size=64m,uid=10001,gid=10001,mode=0755 image-data "$root/data"
  mount -t tmpfs -o size=16m,mode=1777 image-tmp "$root/tmp"
  mount -o remount,ro "$root"
  cd "$root/data"
  exec chroot "$root" /usr/bin/setpriv --reuid 10001 --regid 10001 --clear-groups \
    /usr/bin/env -i "$@" /bin/sh -c "cd /data && exec oauth-registry serve"
' image-smoke "$ROOT" "$BIN_DIR_IMAGE" PATH=/usr/local/bin:/usr/bin:/bin "${IMAGE_ENV[@]}" \
  >"$LOG" 2>&1 &
SERVER_PID=$!

in_image() {
  # Another process in the same mount namespace, as the same user: what
  # `docker exec` (and the HEALTHCHECK) run.
  nsenter --target "$SERVER_PID" --mount --root --wd \
    setpriv --reuid 10001 --regid 10001 --clear-groups \
    env -i PATH=/usr/local/bin:/usr/bin:/bin "${IMAGE_ENV[@]}" sh -c "cd /data && $*"
}
fail() {
  echo "image-smoke: $*" >&2
  echo "--- server log ---" >&2
  cat "$LOG" >&2
  exit 1
}

echo "== waiting for the HEALTHCHECK command (oauth-registry healthcheck)"
for _ in $(seq 1 100); do
  if "$HOST_BIN" healthcheck --addr "http://127.0.0.1:$GRPC_PORT" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited at start-up"
  sleep 0.2
done
"$HOST_BIN" healthcheck --addr "http://127.0.0.1:$GRPC_PORT" || fail "never became healthy"
grep -q '"level":"INFO"' "$LOG" || fail "no JSON log lines (OAUTH_REGISTRY_LOG_FORMAT=json)"

echo "== running as uid 10001 on a read-only root"
SERVER_UID=$(ps -o uid= -p "$SERVER_PID" | tr -d ' ')
[ "$SERVER_UID" = 10001 ] || fail "server runs as uid $SERVER_UID, not 10001"
in_image 'touch /usr/local/bin/x 2>/dev/null' && fail "the root filesystem is writable"
in_image 'test -s /data/oauth-registry.db' || fail "no database in /data"

echo "== the HEALTHCHECK as the image runs it, and the Kubernetes probes"
in_image "oauth-registry healthcheck --addr http://127.0.0.1:$GRPC_PORT" || fail "HEALTHCHECK failed"
for service in liveness oauth_registry.v1.TokenService oauth_registry.v1.ClientService; do
  in_image "oauth-registry healthcheck --addr http://127.0.0.1:$GRPC_PORT --service $service" >/dev/null ||
    fail "grpc probe $service not SERVING"
done
for path in livez readyz; do
  body=$(curl -fsS "http://127.0.0.1:$REST_PORT/$path") || fail "/$path failed"
  echo "   /$path: $body"
done

echo "== writes land in /data (an organization and a key, as docker exec would)"
in_image "oauth-registry admin create-org image-smoke >/dev/null" || fail "create-org failed"
in_image "oauth-registry admin create-key --org image-smoke >/dev/null" || fail "create-key failed"

echo "== SIGTERM: exits 0 within delay + grace"
delay=$(env_value OAUTH_REGISTRY_SHUTDOWN_DELAY_SECS); delay=${delay:-5}
grace=$(env_value OAUTH_REGISTRY_SHUTDOWN_GRACE_SECS); grace=${grace:-10}
started=$SECONDS
kill -TERM "$SERVER_PID"
if [ "$delay" -gt 1 ]; then
  sleep 0.5
  # Lame duck: no longer ready, still alive and answering.
  "$HOST_BIN" healthcheck --addr "http://127.0.0.1:$GRPC_PORT" \
    --service oauth_registry.v1.TokenService >/dev/null 2>&1 && fail "still ready after SIGTERM"
  "$HOST_BIN" healthcheck --addr "http://127.0.0.1:$GRPC_PORT" --service liveness >/dev/null ||
    fail "not alive during the shutdown delay"
  echo "   during the delay: readiness NOT_SERVING, liveness SERVING"
fi
wait "$SERVER_PID" && rc=0 || rc=$?
took=$((SECONDS - started))
SERVER_PID=""
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
[ "$took" -le $((delay + grace + 2)) ] || fail "took ${took}s to stop (delay $delay + grace $grace)"
echo "== ok: image layout, non-root, read-only root, probes, HEALTHCHECK, exit 0 in ${took}s after SIGTERM"
