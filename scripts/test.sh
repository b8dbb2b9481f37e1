#!/usr/bin/env bash
# npm test: prepares the machine like npm start does (plus Chromium), then runs every check:
# formatting and lint, type check, proto lint/regeneration (inside the unit suite), unit and
# integration tests (real mediasoup, Consul, Postgres, Redis) and the browser end-to-end tests.
# Pass `--no-e2e` to skip the browser suite while iterating (CI never does).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SB_ROOT"
E2E=1
[ "${1:-}" = "--no-e2e" ] && E2E=0

bash scripts/prepare.sh --test
load_local_env
export MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-$MEDIASOUP_WORKER_BIN_DEFAULT}
export CONSUL_BIN=${CONSUL_BIN:-$(bash scripts/fetch-consul.sh)}

step "test backends (PostgreSQL, Redis)"
node --import tsx scripts/ensure-backends.ts

step "format and lint"
npx prettier --check --log-level warn .
npx eslint --max-warnings 0 .

step "type check"
npx tsc -p tsconfig.json
npx tsc -p ui/tsconfig.json --noEmit

step "unit and integration tests"
npx vitest run

if [ $E2E -eq 1 ]; then
  step "end-to-end tests (native stack + headless Chromium)"
  npx vitest run -c vitest.e2e.config.ts
fi
step "all tests passed"
