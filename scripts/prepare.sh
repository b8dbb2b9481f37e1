#!/usr/bin/env bash
# Installs whatever the native stack needs that is missing, and nothing else, so a second run is
# fast: Debian packages, the Consul binary, the mediasoup worker (built offline once per version),
# npm dependencies (when package-lock.json changed) and the UI build (when its sources changed).
# Usage: scripts/prepare.sh [--test]   (--test also installs Chromium for the end-to-end tests)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SB_ROOT"

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || die "Node.js 20.19 or newer is required (found $(node -v))"

# Postgres / Redis: use DATABASE_URL / REDIS_URL when given; otherwise the local defaults, installing
# the Debian packages when nothing answers there.
# openssl makes NGINX's self-signed HTTPS certificate on first start (Debian priority: optional).
pkgs=(nginx coturn openssl)
if [ -z "${DATABASE_URL:-}" ] && ! port_open 127.0.0.1 5432; then pkgs+=(postgresql); fi
if [ -z "${REDIS_URL:-}" ] && ! port_open 127.0.0.1 6379; then pkgs+=(redis-server); fi
command -v prometheus >/dev/null || pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || pkgs+=(prometheus-alertmanager)
# Chromium headless draws emoji (reactions) only with an emoji font.
[ $WITH_TEST -eq 1 ] && pkgs+=(chromium fonts-noto-color-emoji)
# Debian's nginx/coturn/prometheus packages try to start system services; we run our own copies.
export RUNLEVEL=1
apt_install "${pkgs[@]}"
# The chat outage test runs private PostgreSQL and Redis servers from the machine's own binaries
# (whatever DATABASE_URL / REDIS_URL point to); only the packages, nothing is started here.
[ $WITH_TEST -eq 1 ] && apt_install postgresql redis-server
# The ICE-restart end-to-end test cuts the media node's RTC ports for a few seconds with iptables.
[ $WITH_TEST -eq 1 ] && apt_install iptables

# A PostgreSQL we just installed answers TCP with password auth only: give the project a role of
# its own and remember the URLs (start.sh and test.sh read .run/local.env).
if [[ " ${pkgs[*]} " == *" postgresql "* ]] && [ -d /etc/postgresql ]; then
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
  su postgres -s /bin/sh -c 'psql -q -v ON_ERROR_STOP=1' <<'SQL' || die "could not create the switchboard PostgreSQL role"
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'switchboard') THEN
    CREATE ROLE switchboard LOGIN PASSWORD 'switchboard' CREATEDB;
  END IF;
END $$;
SQL
  mkdir -p .run
  printf 'DATABASE_URL=postgres://switchboard:switchboard@127.0.0.1:5432/switchboard\nTEST_DATABASE_URL=postgres://switchboard:switchboard@127.0.0.1:5432/switchboard_test\n' > .run/local.env
  echo "    PostgreSQL role 'switchboard' ready (.run/local.env)"
fi

step "consul"
CONSUL=$(bash scripts/fetch-consul.sh)
echo "    $CONSUL"

step "mediasoup worker $MEDIASOUP_VERSION"
export MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-$MEDIASOUP_WORKER_BIN_DEFAULT}
if [ ! -x "$MEDIASOUP_WORKER_BIN" ]; then
  bash services/media/scripts/build-worker.sh >/dev/null
fi
echo "    $MEDIASOUP_WORKER_BIN"

step "npm dependencies"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "    installing (about a minute the first time)"
  # `npm ci` refuses a lockfile that lacks other platforms' optional packages (rollup, buf, ...);
  # registry mirrors that carry only linux builds produce exactly such lockfiles, so fall back to
  # `npm install`, which installs the same locked versions.
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
else
  echo "    up to date"
fi

step "ui build"
ui_hash=$( (find ui/src ui/public common/protocol/src -type f -print0 | sort -z | xargs -0 sha1sum; sha1sum ui/next.config.mjs ui/package.json package-lock.json) | sha1sum | cut -d' ' -f1)
if [ ! -f ui/.next/BUILD_ID ] || [ "$(cat ui/.next/.sb-hash 2>/dev/null)" != "$ui_hash" ]; then
  echo "    building (about 30 s)"
  (cd ui && NEXT_TELEMETRY_DISABLED=1 NEXT_IGNORE_INCORRECT_LOCKFILE=1 npx next build >"$SB_ROOT/.next-build.log" 2>&1) \
    || { tail -n 40 "$SB_ROOT/.next-build.log" >&2; die "ui build failed (log: .next-build.log)"; }
  echo "$ui_hash" > ui/.next/.sb-hash
  echo "    built"
else
  echo "    up to date"
fi
