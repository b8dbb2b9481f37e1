#!/usr/bin/env bash
# npm run loadtest [-- options]: prepares like npm test, then runs bench/loadtest/run.ts
# (`npm run loadtest -- --help` lists the options).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SB_ROOT"
bash scripts/prepare.sh --test >/dev/null
load_local_env
export MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-$MEDIASOUP_WORKER_BIN_DEFAULT}
export CONSUL_BIN=${CONSUL_BIN:-$(bash scripts/fetch-consul.sh)}
exec node --import tsx bench/loadtest/run.ts "$@"
