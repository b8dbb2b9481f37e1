# Shared helpers for the project's shell scripts (sourced, not executed).
SB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SB_CACHE=${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}
SB_TOOLS="$SB_ROOT/.tools"
MEDIASOUP_VERSION=$(node -p "require('$SB_ROOT/services/media/package.json').dependencies.mediasoup.replace(/^[^0-9]*/, '')")
MEDIASOUP_WORKER_BIN_DEFAULT="$SB_CACHE/mediasoup-worker/$MEDIASOUP_VERSION/bin/mediasoup-worker"

# port_open HOST PORT : whether something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG... : installs the Debian packages that are missing (one apt-get update per run).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})"
  step "installing Debian packages: ${missing[*]} (a few minutes on a new machine)"
  if [ -z "${SB_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
    export SB_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# debian_mirror: the Debian mirror this machine's apt already uses.
debian_mirror() {
  local m
  m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || m=http://deb.debian.org/debian
  echo "$m"
}

# apt_download_private DIR SUITE PKG : downloads one .deb from another suite with a private apt config
# (nothing under /etc/apt changes) and unpacks it into DIR/root.
apt_download_private() {
  local dir=$1 suite=$2 pkg=$3
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "deb $(debian_mirror) $suite main" > "$dir/sources.list"
  local o=(-o APT::Sandbox::User=root -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
           -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache")
  apt-get "${o[@]}" update -q >/dev/null || die "apt-get update for $suite failed"
  rm -f "$dir"/*.deb
  (cd "$dir" && apt-get "${o[@]}" download "$pkg" >/dev/null) || die "download of $pkg from $suite failed"
  rm -rf "$dir/root" && dpkg -x "$dir"/*.deb "$dir/root"
}

# load_local_env: exports .run/local.env (written by prepare.sh) for variables not already set.
load_local_env() {
  local f="$SB_ROOT/.run/local.env" line name
  [ -f "$f" ] || return 0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    name=${line%%=*}
    [ -n "${!name:-}" ] || export "$line"
  done < "$f"
}
