#!/usr/bin/env bash
# Makes sure the images docker-compose.yml and the Dockerfile start FROM are there: pulled when a
# registry answers, else (machines that reach only Debian's archive and npm) built locally under
# the upstream names from a debootstrapped Debian bookworm and Debian's packages
# (scripts/compose/standins/*.Containerfile). Grafana (no Debian package) and Prometheus (Debian's
# build has no Consul service discovery) have none: the smoke run leaves them out.
# Usage: standins.sh docker|podman
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ENGINE=${1:-podman}
HERE="$SB_ROOT/scripts/compose/standins"

# upstream name → stand-in Containerfile
declare -A IMAGES=(
  [docker.io/library/node:20-bookworm-slim]=node
  [docker.io/hashicorp/consul:1.20]=consul
  [docker.io/library/postgres:15]=postgres
  [docker.io/library/redis:7]=redis
)

exists() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }
registry_answers() { curl -s -o /dev/null --connect-timeout 5 --max-time 10 https://registry-1.docker.io/v2/; }

missing=()
for image in "${!IMAGES[@]}"; do exists "$image" || missing+=("$image"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "    all present"
  exit 0
fi
if registry_answers; then
  for image in "${missing[@]}"; do "$ENGINE" pull -q "$image" >/dev/null; done
  echo "    pulled ${missing[*]}"
  exit 0
fi
[ "$ENGINE" = podman ] || die "no registry answers and the stand-ins are built with podman only"
echo "    no registry answers: building stand-ins for ${missing[*]}"

# Debian bookworm (minbase) from this machine's Debian mirror, once per machine.
if ! exists localhost/debian:bookworm; then
  rootfs="$SB_CACHE/images/bookworm-rootfs"
  if [ ! -f "$rootfs/etc/debian_version" ]; then
    echo "    debootstrap bookworm (about a minute)"
    rm -rf "$rootfs" && mkdir -p "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >"$SB_CACHE/images/debootstrap.log" 2>&1 \
      || die "debootstrap failed (log: $SB_CACHE/images/debootstrap.log)"
  fi
  tar -C "$rootfs" -c . | podman import -q - localhost/debian:bookworm >/dev/null
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$HERE"/*.sh "$ctx/"
cp "$(command -v node)" "$ctx/node"
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
cp -r "$node_prefix/include/node" "$ctx/include"
mkdir -p "$ctx/local-ca"
cp /usr/local/share/ca-certificates/*.crt "$ctx/local-ca/" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$ctx/npm"
cp "$(bash "$SB_ROOT/scripts/fetch-consul.sh")" "$ctx/consul"
for image in "${missing[@]}"; do
  name=${IMAGES[$image]}
  echo "    $image ← standins/$name.Containerfile"
  podman build -q --pull=never -f "$HERE/$name.Containerfile" -t "$image" "$ctx" >/dev/null
done
