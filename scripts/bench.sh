#!/usr/bin/env bash
# npm run bench [-- grpc|join|auth|chat|effects|events|webhooks|match|capacity]: prepares like npm test, then runs bench/run.ts.
# npm run loadtest [-- options] comes here as `bench.sh loadtest …`: bench/loadtest/run.ts.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SB_ROOT"
bash scripts/prepare.sh --test >/dev/null
load_local_env
export MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-$MEDIASOUP_WORKER_BIN_DEFAULT}
export CONSUL_BIN=${CONSUL_BIN:-$(bash scripts/fetch-consul.sh)}
if [ "${1:-}" = "loadtest" ]; then
  shift
  exec node --import tsx bench/loadtest/run.ts "$@"
fi
exec node --import tsx bench/run.ts "$@"
