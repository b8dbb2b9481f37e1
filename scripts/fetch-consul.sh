#!/usr/bin/env bash
# Puts a Consul agent binary at .tools/consul/consul (project-local, git-ignored) and prints its path.
# Order: $CONSUL_BIN if set; `consul` on PATH; a cached copy; Debian 11's consul package (a real
# Consul 1.8.7 static binary) fetched with a private apt config, since Debian 12 has none.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -n "${CONSUL_BIN:-}" ]; then [ -x "$CONSUL_BIN" ] || die "CONSUL_BIN=$CONSUL_BIN is not executable"; echo "$CONSUL_BIN"; exit 0; fi
DEST="$SB_TOOLS/consul/consul"
if [ -x "$DEST" ]; then echo "$DEST"; exit 0; fi
if command -v consul >/dev/null 2>&1; then echo "$(command -v consul)"; exit 0; fi
step "fetching Consul from Debian bullseye (private apt config; nothing in /etc/apt changes)" >&2
apt_download_private "$SB_TOOLS/consul/apt" bullseye consul
install -D -m755 "$SB_TOOLS/consul/apt/root/usr/bin/consul" "$DEST"
rm -rf "$SB_TOOLS/consul/apt"
# sed reads all of it: `head -1` could exit first and the SIGPIPE would fail the script (pipefail).
"$DEST" version | sed -n 1p >&2
echo "$DEST"
