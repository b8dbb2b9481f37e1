#!/usr/bin/env bash
# npm start: prepare what is missing, then run the native stack until Ctrl-C.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SB_ROOT"
bash scripts/prepare.sh
load_local_env
export MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-$MEDIASOUP_WORKER_BIN_DEFAULT}
exec node --import tsx scripts/launcher.ts
