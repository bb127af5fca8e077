#!/usr/bin/env bash
# Validates the Kubernetes manifests in this directory, offline:
#   1. each manifest (every *.yaml / *.yml but kustomization.yaml) against the
#      Kubernetes OpenAPI schemas bundled with kubernetes-validate (PyPI), in
#      strict mode (unknown fields are errors), for one pinned Kubernetes
#      version; a file passes only if every resource in it is reported as
#      passed (an unknown kind or apiVersion, which the tool merely warns
#      about, fails here);
#   2. kustomization.yaml lists every manifest, and lists no missing file;
#   3. what the schemas cannot see: the selectors match the pod labels, the
#      referenced ConfigMap, Secret (and key) and ServiceAccount exist, the
#      probes and Service target declared container ports, every resource
#      carries the same app.kubernetes.io labels, and
#      terminationGracePeriodSeconds exceeds the shutdown delay + grace;
#   4. `kubectl kustomize` renders the directory, when kubectl is installed.
# Prints one line per file or check, then "kubernetes: N passed, M failed";
# exits non-zero if anything failed.
#
#   deploy/kubernetes/validate.sh            # this directory
#   deploy/kubernetes/validate.sh DIR        # another copy of it
# Environment: KUBERNETES_VERSION (default below), KUBERNETES_VALIDATE_SPEC
# (the pip requirement installed when the tool is missing), PYTHON.
set -euo pipefail

# The oldest Kubernetes these manifests target: validating against it
# rejects fields that newer versions added.
KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.33.0}"
KUBERNETES_VALIDATE_SPEC="${KUBERNETES_VALIDATE_SPEC:-kubernetes-validate==1.37.0}"
PYTHON="${PYTHON:-python3}"

dir="${1:-$(dirname "$0")}"
cd "$dir"

passed=0
failed=0
pass() { printf 'ok    %s\n' "$*"; passed=$((passed + 1)); }
oneline() { tr '\n' ' ' | tr -s ' ' | sed 's/ $//'; }
fail() { printf 'FAIL  %s\n' "$*"; failed=$((failed + 1)); }

# --- the tool -------------------------------------------------------------
if ! "$PYTHON" -c 'import kubernetes_validate' 2>/dev/null; then
  echo "installing $KUBERNETES_VALIDATE_SPEC from PyPI" >&2
  pip=("$PYTHON" -m pip install --quiet --disable-pip-version-check)
  if ! out=$("${pip[@]}" "$KUBERNETES_VALIDATE_SPEC" 2>&1); then
    if grep -q externally-managed-environment <<<"$out"; then
      "${pip[@]}" --break-system-packages "$KUBERNETES_VALIDATE_SPEC"
    else
      printf '%s\n' "$out" >&2
      exit 1
    fi
  fi
fi
tool_version=$("$PYTHON" -m kubernetes_validate --version)
case "$KUBERNETES_VERSION" in
  *.*.*) ;;
  *) KUBERNETES_VERSION="$KUBERNETES_VERSION.0" ;;
esac
if ! "$PYTHON" - "$KUBERNETES_VERSION" <<'EOF'
import sys
import kubernetes_validate.utils as u
sys.exit(0 if sys.argv[1] in u.all_versions() else 1)
EOF
then
  echo "kubernetes-validate $tool_version has no schemas for Kubernetes $KUBERNETES_VERSION" >&2
  exit 1
fi
echo "kubernetes-validate $tool_version, Kubernetes $KUBERNETES_VERSION schemas, strict"

manifests=()
for f in *.yaml *.yml; do
  [ -e "$f" ] || continue
  [ "$f" = kustomization.yaml ] && continue
  manifests+=("$f")
done
if [ "${#manifests[@]}" -eq 0 ]; then
  echo "no manifests in $PWD" >&2
  exit 1
fi

# --- 1. schemas -------------------------------------------------------------
for f in "${manifests[@]}"; do
  if out=$("$PYTHON" -m kubernetes_validate --strict -k "$KUBERNETES_VERSION" "$f" 2>&1); then
    rc=0
  else
    rc=$?
  fi
  # Every line must be "INFO <file> passed for resource <kind/name> ...".
  resources=$(sed -n 's/^INFO .* passed for resource \([^ ]*\) against .*/\1/p' <<<"$out" | paste -sd, -)
  others=$(grep -v '^INFO .* passed for resource ' <<<"$out" | grep -v '^[[:space:]]*$' || true)
  if [ "$rc" -eq 0 ] && [ -n "$resources" ] && [ -z "$others" ]; then
    pass "$f: $resources"
  elif [ -z "$out" ]; then
    fail "$f: no Kubernetes resource in the file"
  else
    fail "$f: $(oneline <<<"${others:-$out}")"
  fi
done

# --- 2. kustomization lists every manifest ----------------------------------
if [ ! -f kustomization.yaml ]; then
  fail "kustomization.yaml: missing"
else
  missing=()
  for f in "${manifests[@]}"; do
    grep -Eq "^[[:space:]]*-[[:space:]]+[\"']?(\./)?${f//./\\.}[\"']?[[:space:]]*(#.*)?$" kustomization.yaml ||
      missing+=("$f")
  done
  # ...and every file it lists exists.
  absent=()
  while read -r listed; do
    [ -e "$listed" ] || absent+=("$listed")
  done < <(sed -n '/^resources:/,/^[^[:space:]-]/{s/^[[:space:]]*-[[:space:]]*\([^[:space:]#]*\).*/\1/p;}' kustomization.yaml |
    tr -d "\"'")
  if [ "${#missing[@]}" -eq 0 ] && [ "${#absent[@]}" -eq 0 ]; then
    pass "kustomization.yaml: lists all ${#manifests[@]} manifests"
  else
    fail "kustomization.yaml: not listed: ${missing[*]:-none}; listed but absent: ${absent[*]:-none}"
  fi
fi

# --- 3. consistency across files -----------------------------------------
if out=$("$PYTHON" - "${manifests[@]}" <<'EOF' 2>&1
import sys
import yaml

docs = []
for name in sys.argv[1:]:
    try:
        with open(name) as f:
            docs += [(name, d) for d in yaml.safe_load_all(f) if d]
    except yaml.YAMLError as e:
        sys.exit(f"{name}: {e}")
by_kind = {}
for name, d in docs:
    try:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    except (KeyError, TypeError):
        sys.exit(f"{name}: a document without kind or metadata.name")

problems = []
KEYS = ("name", "instance", "version", "component")
labels_seen = {}
for name, d in docs:
    labels = d["metadata"].get("labels") or {}
    for k in KEYS:
        key = "app.kubernetes.io/" + k
        if key not in labels:
            problems.append(f"{name}: no {key} label")
        else:
            labels_seen.setdefault(key, set()).add(str(labels[key]))
for key, values in labels_seen.items():
    if len(values) > 1:
        problems.append(f"{key} differs between files: {sorted(values)}")

def subset(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

for dep in by_kind.get("Deployment", {}).values():
    tmpl = dep["spec"]["template"]
    pod_labels = tmpl["metadata"].get("labels") or {}
    spec = tmpl["spec"]
    dname = dep["metadata"]["name"]
    for k in KEYS:
        if "app.kubernetes.io/" + k not in pod_labels:
            problems.append(f"deployment/{dname}: pod template lacks app.kubernetes.io/{k}")
    if not subset(dep["spec"]["selector"].get("matchLabels"), pod_labels):
        problems.append(f"deployment/{dname}: selector does not match the pod labels")
    if "app.kubernetes.io/version" in dep["spec"]["selector"].get("matchLabels", {}):
        problems.append(f"deployment/{dname}: version in the (immutable) selector")
    for svc in by_kind.get("Service", {}).values():
        if not subset(svc["spec"].get("selector"), pod_labels):
            problems.append(f"service/{svc['metadata']['name']}: selector does not match the pods")
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        if not subset(pdb["spec"]["selector"].get("matchLabels"), pod_labels):
            problems.append(f"pdb/{pdb['metadata']['name']}: selector does not match the pods")
    sa = spec.get("serviceAccountName")
    if sa and sa not in by_kind.get("ServiceAccount", {}):
        problems.append(f"deployment/{dname}: no ServiceAccount {sa}")

    containers = spec.get("initContainers", []) + spec["containers"]
    main = spec["containers"]
    ports = {p["containerPort"] for c in main for p in c.get("ports", [])}
    port_names = {p["name"] for c in main for p in c.get("ports", []) if "name" in p}
    env = {}
    for c in containers:
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                cm = by_kind.get("ConfigMap", {}).get(src["configMapRef"]["name"])
                if cm is None:
                    problems.append(f"{c['name']}: no ConfigMap {src['configMapRef']['name']}")
                else:
                    env.update(cm.get("data", {}))
            if "secretRef" in src and src["secretRef"]["name"] not in by_kind.get("Secret", {}):
                problems.append(f"{c['name']}: no Secret {src['secretRef']['name']}")
        for e in c.get("env", []):
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                secret = by_kind.get("Secret", {}).get(ref["name"])
                if secret is None:
                    problems.append(f"{c['name']}: no Secret {ref['name']}")
                elif ref["key"] not in {**secret.get("data", {}), **secret.get("stringData", {})}:
                    problems.append(f"{c['name']}: Secret {ref['name']} has no key {ref['key']}")
            elif "value" in e:
                env[e["name"]] = e["value"]
    for c in main:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            p = c.get(probe)
            if p is None:
                problems.append(f"{c['name']}: no {probe}")
                continue
            for kind in ("grpc", "httpGet", "tcpSocket"):
                if kind in p:
                    port = p[kind]["port"]
                    if port not in ports and port not in port_names:
                        problems.append(f"{c['name']}: {probe} targets undeclared port {port}")
    for svc in by_kind.get("Service", {}).values():
        for p in svc["spec"]["ports"]:
            t = p.get("targetPort", p["port"])
            if t not in ports and t not in port_names:
                problems.append(f"service/{svc['metadata']['name']}: targetPort {t} is no container port")
    delay = int(env.get("OAUTH_REGISTRY_SHUTDOWN_DELAY_SECS", 5))
    grace = int(env.get("OAUTH_REGISTRY_SHUTDOWN_GRACE_SECS", 10))
    tgps = spec.get("terminationGracePeriodSeconds", 30)
    if tgps <= delay + grace:
        problems.append(f"deployment/{dname}: terminationGracePeriodSeconds {tgps} <= delay {delay} + grace {grace}")

if problems:
    print("; ".join(problems))
    sys.exit(1)
print(f"{len(docs)} resources")
EOF
); then
  pass "consistency: $out"
else
  fail "consistency: $(oneline <<<"$out")"
fi

# --- 4. kustomize renders ---------------------------------------------------
if command -v kubectl >/dev/null 2>&1; then
  if out=$(kubectl kustomize . 2>&1); then
    pass "kubectl kustomize: $(grep -c '^kind: ' <<<"$out") resources rendered"
  else
    fail "kubectl kustomize: $(oneline <<<"$out")"
  fi
else
  echo "skip  kubectl kustomize: kubectl not installed"
fi

echo "kubernetes: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
