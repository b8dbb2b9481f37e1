#!/usr/bin/env bash
# Writes the secrets docker-compose.yml needs to .env (next to it), once: the join-token secret,
# the media API's service secret, Consul's management token and one Consul token per component.
# Values already in .env are kept, so running it again only adds what a newer version needs.
# Usage: bash scripts/compose/secrets.sh [file]   (default: .env at the repository root)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FILE=${1:-$ROOT/.env}
touch "$FILE"
chmod 600 "$FILE"
has() { grep -q "^$1=." "$FILE"; }
add() { has "$1" || printf '%s=%s\n' "$1" "$2" >> "$FILE"; }
random() { head -c 48 /dev/urandom | base64 | tr -d '\n'; }
uuid() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr "[:upper:]" "[:lower:]"; }

add JWT_SECRET "$(random)"
add SERVICE_SECRET "$(random)"
add CONSUL_MANAGEMENT_TOKEN "$(uuid)"
for component in MEDIA SIGNALING GATEWAY UI LOG_VIEWER EVENTS NGINX PROMETHEUS; do
  add "CONSUL_TOKEN_$component" "$(uuid)"
done
echo "secrets in $FILE (keep it private; Consul's management token is CONSUL_MANAGEMENT_TOKEN)"
