#!/usr/bin/env bash
# npm run compose:smoke — runs docker-compose.yml for real and checks it: builds the images,
# starts the stack (every service but Grafana and the optional coturn profile), checks every
# service passing in the stack's Consul, runs a three-party Chromium call through its NGINX
# (test/compose/smoke.compose.test.ts), and removes the stack and its volumes, pass or fail.
#
# Engine: `docker compose` when a Docker engine answers, else podman + podman-compose (installed
# from Debian when missing). Images that cannot be pulled (no registry reachable, as on our build
# machines) are replaced by local stand-ins under the upstream names (scripts/compose/standins.sh),
# so docker-compose.yml and the Dockerfile stay exactly what a Docker user runs.
# Environment: COMPOSE_SMOKE_KEEP=1 leaves the stack running for a look (remove it with
# `podman-compose -p switchboard-smoke down -v`).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$SB_ROOT"

PROJECT=switchboard-smoke
# Grafana is not packaged for Debian, and Debian's Prometheus is built without Consul service
# discovery (it refuses `consul_sd_configs`), so neither has a stand-in that could run
# docker-compose.yml's configuration: where images cannot be pulled, they are checked statically
# (test/compose.test.ts); with Docker (real images) they run too.
SERVICES=(consul postgres redis consul-acl media signaling gateway log-viewer events ui nginx)
started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started)) s"; }
mkdir -p .run/compose

if docker compose version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  ENGINE=docker
  COMPOSE=(docker compose -p "$PROJECT")
  BUILD=("${COMPOSE[@]}" build)
else
  ENGINE=podman
  apt_install podman podman-compose runc netavark aardvark-dns debootstrap
  # These machines' kernels refuse podman's default rlimits and crun's cgroup handling: a private
  # containers.conf (the machine's own is left alone).
  printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' \
    > .run/compose/containers.conf
  export CONTAINERS_CONF="$SB_ROOT/.run/compose/containers.conf"
  # Podman 4.3 (Debian 12) does not know `host-gateway` (extra_hosts): a copy of the file with this
  # host's address in its place, next to the original so paths resolve alike.
  FILE=.docker-compose.podman.yml
  # It also leaves `${VAR:-}` (empty default) unexpanded: `${VAR}` there, with VAR set below.
  sed -e "s/:host-gateway'/:$(hostname -I | awk '{print $1}')'/" -e 's/\${\([A-Z_]*\):-}/${\1}/g' \
    docker-compose.yml > "$FILE"
  COMPOSE=(podman-compose -f "$FILE" -p "$PROJECT")
  BUILD=("${COMPOSE[@]}" --podman-build-args=--pull=never build)
fi
step "compose smoke run with $ENGINE ($(${ENGINE} --version | head -1))"

for port in 8080 8443 40000; do
  if port_open 127.0.0.1 "$port"; then
    die "port $port is in use (a native stack? stop it first): the Compose stack publishes 8080, 8443 and 40000-40100"
  fi
done

step "base images"
bash scripts/compose/standins.sh "$ENGINE"

# Secrets of the smoke run's own (the environment overrides a developer's .env), and the optional
# variables set empty (podman-compose 1.0 leaves `${VAR:-}` unexpanded).
rm -f .run/compose/smoke.env
bash scripts/compose/secrets.sh .run/compose/smoke.env >/dev/null
set -a
. .run/compose/smoke.env
set +a
export SWITCHBOARD_OPERATOR_EMAILS='' TURN_SECRET='' NGINX_TLS_CERT='' NGINX_TLS_KEY='' LOG_LEVEL=info

step "building our images (the Dockerfile's stages; cached after the first run)"
t=$(date +%s)
"${BUILD[@]}" "${SERVICES[@]:3:7}" 2>&1 | grep -E '^(\[|STEP|-->|Successfully|COMMIT)|error|Error' | grep -vE '^-->' | tail -n 40 || true
[ "${PIPESTATUS[0]}" -eq 0 ] || die "image build failed"
echo "    built in $(($(date +%s) - t)) s"

cleanup() {
  local code=$?
  if [ $code -ne 0 ]; then
    step "failed: the stack's state and the last log lines of each service"
    "$ENGINE" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}' || true
    for s in "${SERVICES[@]}"; do
      id=$("$ENGINE" ps -aq --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$s" | head -1)
      [ -n "$id" ] && { echo "--- $s"; "$ENGINE" logs --tail 15 "$id" 2>&1 || true; }
    done
  fi
  if [ "${COMPOSE_SMOKE_KEEP:-}" = 1 ]; then
    echo "    left running (COMPOSE_SMOKE_KEEP=1)"
  else
    step "removing the stack and its volumes"
    "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
    "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
    rm -f .docker-compose.podman.yml
  fi
  echo "    compose smoke run: $([ $code -eq 0 ] && echo passed || echo FAILED) after $(elapsed)"
  exit $code
}
trap cleanup EXIT

cid() { "$ENGINE" ps -aq --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" | head -1; }

# In the order docker-compose.yml's depends_on conditions give (podman-compose 1.0 ignores them).
step "starting the stack"
t=$(date +%s)
"${COMPOSE[@]}" up -d consul postgres redis >/dev/null 2>&1 || die "compose up (consul, postgres, redis) failed"
for _ in $(seq 1 60); do "$ENGINE" exec "$(cid consul)" consul members >/dev/null 2>&1 && break; sleep 1; done
"$ENGINE" exec "$(cid consul)" consul members >/dev/null || die "consul did not come up"
"${COMPOSE[@]}" up -d consul-acl >/dev/null 2>&1 || die "compose up consul-acl failed"
code=$("$ENGINE" wait "$(cid consul-acl)")
[ "$code" = 0 ] || die "consul-acl exited with $code"
echo "    consul ACLs in place $(($(date +%s) - t)) s after compose up"
"${COMPOSE[@]}" up -d "${SERVICES[@]:4}" >/dev/null 2>&1 || die "compose up failed"
# Up when NGINX answers and the platform says healthy through it.
for _ in $(seq 1 180); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/health)" = 200 ]; then break; fi
  sleep 1
done
curl -fsS http://127.0.0.1:8080/api/health >/dev/null || die "the stack did not become healthy within 180 s"
echo "    healthy through NGINX $(($(date +%s) - t)) s after compose up"

step "checks: Consul, health, a three-party call in Chromium"
COMPOSE_URL=http://127.0.0.1:8080 COMPOSE_ENGINE=$ENGINE COMPOSE_PROJECT=$PROJECT \
  npx vitest run -c vitest.compose.config.ts
