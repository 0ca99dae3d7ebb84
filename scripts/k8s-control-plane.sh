#!/usr/bin/env bash
# k8s-control-plane.sh - run a REAL Kubernetes control plane (v1.20.2) on 127.0.0.1 for integration tests.
#
# Everything comes from Debian bookworm via apt (no Docker, no Go proxy, no other downloads):
#   * kube-apiserver + kube-controller-manager: built offline from the Debian source package
#     `kubernetes` (1.20.5+really1.20.2, vendored deps) with Debian golang-go 1.19
#   * etcd 3.4.23 and kubectl 1.20.2: taken from the etcd-server / kubernetes-client .debs
#     (extracted with dpkg-deb, not installed: no etcd service gets started, no /usr/bin/kubectl clash)
#   * PKI generated with openssl
# It starts etcd, kube-apiserver and kube-controller-manager on loopback and writes a kubeconfig.
#
# Usage: scripts/k8s-control-plane.sh [up|down|status|build|selftest]   (default: up; all idempotent)
#   build   only fetch/build the binaries into $HEADROOM_K8S_DIR/cache/bin (skipped when present)
#   up      build (if needed), generate PKI (if missing), start whatever is not running
#   down    stop the processes started by `up` (by PID file)
#   status  show PIDs and health
#   selftest  Deployment + scale subresource (kubectl scale, raw PATCH) + RS/Pods + HPA smoke test
# Environment:
#   HEADROOM_K8S_DIR  base dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/headroom/k8s): cache/bin = binaries, run/ = state/logs
#   ETCD_PORT=2379 ETCD_PEER_PORT=2380 APISERVER_PORT=6443 KCM_PORT=10257
#   START_KCM=1     0 = apiserver only (no controllers: Deployments never get ReplicaSets/Pods)
#   RESET=1         `up` wipes etcd data + PKI first (fresh, empty cluster)
#   KEEP_BUILD_TREE=1  keep the ~2.3 GB source/build tree after building (default: delete it)
# After `up`:  export KUBECONFIG=$HEADROOM_K8S_DIR/run/kubeconfig PATH=$HEADROOM_K8S_DIR/cache/bin:$PATH
#              (or: source $HEADROOM_K8S_DIR/run/env.sh)
set -euo pipefail

DIR=${HEADROOM_K8S_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/headroom/k8s}
CACHE=$DIR/cache
BIN=$CACHE/bin
RUN=$DIR/run
PKI=$RUN/pki
LOGS=$RUN/logs
ETCD_PORT=${ETCD_PORT:-2379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-2380}
APISERVER_PORT=${APISERVER_PORT:-6443}
KCM_PORT=${KCM_PORT:-10257}
START_KCM=${START_KCM:-1}
SERVER=https://127.0.0.1:$APISERVER_PORT
T0=$(date +%s%N)

secs_since() { local ms=$(( ($(date +%s%N) - $1) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
log() { printf '[k8s +%ss] %s\n' "$(secs_since "$T0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo

# ---------------------------------------------------------------- apt helpers
APT_UPDATED=0
apt_update() { ((APT_UPDATED)) || { log "apt-get update"; $SUDO apt-get update -qq; APT_UPDATED=1; }; }
apt_install() { # install only the packages that are missing
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  apt_update
  log "apt-get install ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
ensure_deb_src() { # make `apt-get source kubernetes` possible (same mirror/suites as the deb entries)
  apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$' && return 0
  log "adding deb-src entries for the configured Debian mirror"
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      $SUDO tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
  else
    grep -hE '^deb\s' /etc/apt/sources.list | sed -E 's/^deb\s/deb-src /' |
      $SUDO tee /etc/apt/sources.list.d/debian-src.list >/dev/null
  fi
  APT_UPDATED=0; apt_update
  apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$' || die "no 'kubernetes' source package"
}
fetch_deb() { # <package> : download the .deb (no install) and unpack it into $CACHE/debs/<package>/root
  local pkg=$1 d=$CACHE/debs/$1
  rm -rf "$d"; mkdir -p "$d"
  apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]' || apt_update
  log "apt-get download $pkg"
  (cd "$d" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  dpkg-deb -x "$d"/"${pkg}"_*.deb "$d/root"
}

# ---------------------------------------------------------------- build
build() {
  mkdir -p "$BIN"
  apt_install openssl curl ca-certificates
  local pkg
  for pkg in etcd-server:etcd kubernetes-client:kubectl; do
    [[ -x $BIN/${pkg#*:} ]] && continue
    fetch_deb "${pkg%%:*}"
    install -m 0755 "$CACHE/debs/${pkg%%:*}/root/usr/bin/${pkg#*:}" "$BIN/"
    rm -rf "$CACHE/debs/${pkg%%:*}"
  done
  if [[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]]; then
    log "kube-apiserver/kube-controller-manager already in $BIN - build skipped"
    return 0
  fi
  apt_install golang-go make rsync jq dpkg-dev   # = Build-Depends of src:kubernetes (minus debhelper)
  ensure_deb_src
  local src=$CACHE/src tree b0
  rm -rf "$src"; mkdir -p "$src"
  log "apt-get source kubernetes"
  (cd "$src" && apt-get source -qq kubernetes 2>&1 | grep -v -e 'unsandboxed' -e '^dpkg-source: info' >&2 || true)
  tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
  [[ -f $tree/vendor/modules.txt ]] || die "source tree without vendor/ in $src"
  # Go >= 1.18 vs vendored github.com/modern-go/reflect2 v1.0.1: kube-apiserver/-controller-manager then
  # panic (nil pointer in reflect2.Type2 via json-iterator) when decoding e.g. an HPA or a CRD.
  # Fix: swap in Debian's reflect2 1.0.2 source (API-compatible; GOPATH build reads vendor/ as is).
  fetch_deb golang-github-modern-go-reflect2-dev
  rsync -a --delete --exclude LICENSE --exclude BUILD --exclude go.mod \
    "$CACHE/debs/golang-github-modern-go-reflect2-dev/root/usr/share/gocode/src/github.com/modern-go/reflect2/" \
    "$tree/vendor/github.com/modern-go/reflect2/"
  rm -rf "$CACHE/debs/golang-github-modern-go-reflect2-dev"
  log "building cmd/kube-apiserver cmd/kube-controller-manager in $tree (offline, GOPATH mode + vendor/)"
  b0=$(date +%s)
  # hack/lib/init.sh forces GO111MODULE=off and builds in a GOPATH under _output/ using vendor/;
  # GOCACHE also ends up under _output/. GOPROXY=off guarantees no network use.
  (cd "$tree" && env -u GOFLAGS -u GOPATH -u GOROOT -u GO111MODULE \
     PATH=/usr/lib/go/bin:$PATH GOPROXY=off GOSUMDB=off CGO_ENABLED=0 HOME=$CACHE/home \
     make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$CACHE/build.log" 2>&1) ||
    { tail -n 40 "$CACHE/build.log" >&2; die "build failed (full log: $CACHE/build.log)"; }
  install -m 0755 "$tree/_output/bin/kube-apiserver" "$tree/_output/bin/kube-controller-manager" "$BIN/"
  log "build done in $(( $(date +%s) - b0 ))s: $("$BIN/kube-apiserver" --version)"
  rm -rf "$CACHE/debs"
  [[ ${KEEP_BUILD_TREE:-0} == 1 ]] || rm -rf "$src" "$CACHE/home"
}

# ---------------------------------------------------------------- PKI + kubeconfigs
sign() { # <name> <subject> <extensions...>
  local n=$1 subj=$2; shift 2
  openssl req -new -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "$subj" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$@" >"$n.ext"
  openssl x509 -req -sha256 -days 3650 -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$n.crt" -extfile "$n.ext" 2>/dev/null
  rm -f "$n.csr" "$n.ext"
}
gen_pki() {
  [[ -s $PKI/kcm.crt ]] && return 0
  log "generating PKI in $PKI"
  rm -rf "$PKI"; mkdir -p "$PKI"
  (
    cd "$PKI"; umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=headroom-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    sign apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    sign admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
    sign kcm "/O=system:masters/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # static bearer token (token,user,uid,"groups")
    echo "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'),admin-token,admin-token,\"system:masters\"" >tokens.csv
    chmod 0644 ca.crt
  )
}
kubeconfig() { # <file> <cert-name> [token]
  local f=$1 n=$2 token=${3:-}
  {
    cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $n
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$n.crt")
    client-key-data: $(base64 -w0 "$PKI/$n.key")
EOF
    [[ -z $token ]] || printf -- '- name: token\n  user:\n    token: %s\n' "$token"
    cat <<EOF
contexts:
- name: local
  context: {cluster: local, user: $n, namespace: default}
EOF
    [[ -z $token ]] || printf -- '- name: local-token\n  context: {cluster: local, user: token, namespace: default}\n'
    echo "current-context: local"
  } >"$f"
  chmod 0600 "$f"
}

# ---------------------------------------------------------------- process helpers
pid_of() { local f=$RUN/$1.pid; [[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }
spawn() { # <name> <cmd...> : start detached (own session), PID in $RUN/<name>.pid, log in $LOGS/<name>.log
  local name=$1; shift
  mkdir -p "$LOGS"; rm -f "$RUN/$name.pid"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$name.pid" "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  local i; for i in $(seq 50); do [[ -s $RUN/$name.pid ]] && return 0; sleep 0.1; done
  die "could not start $name"
}
wait_for() { # <name> <timeout-s> <cmd...> : poll cmd until it succeeds; fail fast if the process died
  local name=$1 to=$2 s; shift 2; s=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    pid_of "$name" >/dev/null || { tail -n 30 "$LOGS/$name.log" >&2; die "$name exited"; }
    (( $(date +%s) - s < to )) || { tail -n 30 "$LOGS/$name.log" >&2; die "$name not ready after ${to}s"; }
    sleep 0.2
  done
}
readyz() { [[ $(curl -sk --max-time 2 "$SERVER/readyz") == ok ]]; }
etcd_ok() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
kcm_ok() { [[ $(curl -sk --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz") == ok ]]; }
default_sa() { "$BIN/kubectl" --kubeconfig "$RUN/kubeconfig" -n default get serviceaccount default; }

# ---------------------------------------------------------------- commands
up() {
  [[ ${RESET:-0} == 1 ]] && { down; log "RESET=1: wiping $RUN"; rm -rf "$RUN"; }
  build
  mkdir -p "$RUN" "$LOGS"
  gen_pki
  kubeconfig "$RUN/kubeconfig" admin "$(cut -d, -f1 "$PKI/tokens.csv")"
  kubeconfig "$RUN/kcm.kubeconfig" kcm
  cat >"$RUN/env.sh" <<EOF
export KUBECONFIG=$RUN/kubeconfig
export PATH=$BIN:\$PATH
EOF

  if ! pid_of etcd >/dev/null; then
    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    mkdir -p "$RUN/etcd-data"; chmod 0700 "$RUN/etcd-data"
    spawn etcd "$BIN/etcd" --name local --data-dir "$RUN/etcd-data" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new
  fi
  wait_for etcd 30 etcd_ok
  log "etcd healthy (pid $(pid_of etcd))"

  if ! pid_of kube-apiserver >/dev/null; then
    log "starting kube-apiserver on $SERVER"
    spawn kube-apiserver "$BIN/kube-apiserver" \
      --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
      --endpoint-reconciler-type=none \
      --cert-dir="$RUN/apiserver-certs" \
      --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
      --client-ca-file="$PKI/ca.crt" --token-auth-file="$PKI/tokens.csv" \
      --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
      --service-cluster-ip-range=10.0.0.0/24 \
      --authorization-mode=RBAC \
      --allow-privileged=true --profiling=false
  fi
  local a0; a0=$(date +%s%N)
  wait_for kube-apiserver 90 readyz
  log "kube-apiserver ready (pid $(pid_of kube-apiserver), /readyz ok after $(secs_since "$a0")s of waiting)"

  if [[ $START_KCM == 1 ]]; then
    if ! pid_of kube-controller-manager >/dev/null; then
      log "starting kube-controller-manager (127.0.0.1:$KCM_PORT)"
      spawn kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig="$RUN/kcm.kubeconfig" \
        --authentication-kubeconfig="$RUN/kcm.kubeconfig" --authorization-kubeconfig="$RUN/kcm.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --port=0 --cert-dir="$RUN/kcm-certs" \
        --leader-elect=false \
        --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
        --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key"
    fi
    wait_for kube-controller-manager 60 kcm_ok
    # pods are only admitted once the ServiceAccount controller created default/default
    wait_for kube-controller-manager 60 default_sa
    log "kube-controller-manager healthy (pid $(pid_of kube-controller-manager)), default/default serviceaccount exists"
  fi
  log "cluster up: $("$BIN/kube-apiserver" --version) | KUBECONFIG=$RUN/kubeconfig | kubectl=$BIN/kubectl"
  echo "export KUBECONFIG=$RUN/kubeconfig PATH=$BIN:\$PATH"
}

down() { # SIGTERM all, wait up to 15s, then SIGKILL leftovers
  local n pid i pids=()
  for n in kube-controller-manager kube-apiserver etcd; do
    if pid=$(pid_of "$n"); then log "stopping $n (pid $pid)"; kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for pid in "${pids[@]}"; do
    for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$RUN"/*.pid
}

status() {
  local n
  for n in etcd kube-apiserver kube-controller-manager; do
    printf '%-24s %s\n' "$n" "$(pid_of "$n" || echo 'not running')"
  done
  printf '%-24s %s\n' "etcd /health" "$(curl -s --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" || echo down)"
  printf '%-24s %s\n' "apiserver /readyz" "$(curl -sk --max-time 2 "$SERVER/readyz" || echo down)"
  printf '%-24s %s\n' "kcm /healthz" "$(curl -sk --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz" || echo down)"
}

selftest() { # deployment + scale subresource (kubectl scale, raw merge/json PATCH), RS/pods, HPA v1+v2beta2
  local k=("$BIN/kubectl" --kubeconfig "$RUN/kubeconfig" -n default) d=selftest-$$ u i
  u=/apis/apps/v1/namespaces/default/deployments/$d/scale
  "${k[@]}" create deployment "$d" --image=nginx --replicas=1 >/dev/null
  "${k[@]}" scale deployment "$d" --replicas=2 >/dev/null
  curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" -X PATCH \
    -H 'Content-Type: application/merge-patch+json' --data '{"spec":{"replicas":3}}' "$SERVER$u" >/dev/null
  curl -sf --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cut -d, -f1 "$PKI/tokens.csv")" -X PATCH \
    -H 'Content-Type: application/json-patch+json' --data '[{"op":"replace","path":"/spec/replicas","value":4}]' "$SERVER$u" >/dev/null
  "${k[@]}" get --raw "$u" | grep -q '"spec":{"replicas":4}' || die "scale subresource"
  if [[ $START_KCM == 1 ]]; then
    for i in $(seq 50); do
      [[ $("${k[@]}" get pods -l app="$d" --no-headers 2>/dev/null | wc -l) == 4 ]] && break; sleep 0.2
    done
    "${k[@]}" get rs,pods -l app="$d"
    [[ $("${k[@]}" get pods -l app="$d" --no-headers | wc -l) == 4 ]] || die "controller-manager did not create 4 pods"
  fi
  "${k[@]}" autoscale deployment "$d" --min=1 --max=3 --cpu-percent=50 >/dev/null   # autoscaling/v1
  printf '%s\n' "apiVersion: autoscaling/v2beta2" "kind: HorizontalPodAutoscaler" "metadata: {name: $d-v2}" \
    "spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: $d}, maxReplicas: 3," \
    "  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]}" |
    "${k[@]}" create -f - >/dev/null
  "${k[@]}" delete deployment "$d" >/dev/null
  "${k[@]}" delete hpa "$d" "$d-v2" >/dev/null
  log "selftest passed; served autoscaling versions: $("${k[@]}" api-versions | grep autoscaling | tr '\n' ' ')"
}

# One `up`/`build`/`down` at a time per machine: two concurrent builds share $CACHE/src and the
# second's `rm -rf` of the source tree killed the first (seen with two test runs on one machine).
# The daemons `up` starts inherit fd 9, so the lock is released explicitly (flock -u unlocks the
# shared open file), not by this script's exit.
locked() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock 9
  local rc=0
  "$@" || rc=$?
  flock -u 9
  exec 9>&-
  return "$rc"
}

case ${1:-up} in
  up) locked up ;;
  down) locked down ;;
  status) status ;;
  build) locked build ;;
  selftest) selftest ;;
  *) echo "usage: $0 [up|down|status|build|selftest]" >&2; exit 2 ;;
esac
