#!/usr/bin/env bash
# Provides mediasoup's worker binary, once per mediasoup version, in a cache outside the clone:
# the official prebuilt one when GitHub answers, else built offline against Debian 12's libraries
# (the offline path needs only Debian's archive and the npm registry).
# Prints the binary's path on its last line. Progress goes to stderr; the full build log to
# $W/build.log.  Adapted from ../shared/mediasoup-offline/build-worker.sh (verified recipe).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh"

W="$SB_CACHE/mediasoup-worker/$MEDIASOUP_VERSION"
BIN="$W/bin/mediasoup-worker"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

mkdir -p "$W" && cd "$W"

# A worker "runs here" when, started without mediasoup's handshake variables, it exits with 41
# (the check mediasoup's own installer uses against libc mismatches).
runs_here() { local code=0; env -i "$1" >/dev/null 2>&1 || code=$?; [ "$code" -eq 41 ]; }

# 0. With the internet, mediasoup's official prebuilt worker is a few seconds away. Try it only when
#    GitHub answers quickly; machines that reach only npm and Debian fall through to the build.
if [ -z "${SWITCHBOARD_BUILD_WORKER:-}" ] && command -v curl >/dev/null; then
  TAR="mediasoup-worker-$MEDIASOUP_VERSION-linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')-kernel$(uname -r | cut -d. -f1).tgz"
  URL="https://github.com/versatica/mediasoup/releases/download/$MEDIASOUP_VERSION/$TAR"
  if curl -fsSL --connect-timeout 5 --max-time 120 -o "$W/prebuilt.tgz" "$URL" 2>/dev/null; then
    rm -rf "$W/prebuilt" && mkdir -p "$W/prebuilt" && tar xzf "$W/prebuilt.tgz" -C "$W/prebuilt"
    if [ -x "$W/prebuilt/mediasoup-worker" ] && runs_here "$W/prebuilt/mediasoup-worker"; then
      install -D -m755 "$W/prebuilt/mediasoup-worker" "$BIN"
      rm -rf "$W/prebuilt" "$W/prebuilt.tgz"
      echo "  using mediasoup's official prebuilt worker ($TAR)" >&2
      echo "$BIN"
      exit 0
    fi
    echo "  the prebuilt worker does not run on this system; building it instead" >&2
  fi
  rm -rf "$W/prebuilt" "$W/prebuilt.tgz"
fi

step "building mediasoup-worker $MEDIASOUP_VERSION offline (about 5 minutes on 2 cores; log: $W/build.log)" >&2
LOG="$W/build.log"; : > "$LOG"

# 1. Debian build dependencies
apt_install build-essential pkg-config ninja-build libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev \
  libabsl-dev libflatbuffers-dev flatbuffers-compiler python3 >&2

# 2. meson >= 1.1 (bookworm ships 1.0.1): bookworm-backports' pure-python meson, private apt config
if [ ! -x "$W/meson" ]; then
  echo "  fetching meson from bookworm-backports" >&2
  apt_download_private "$W/apt" bookworm-backports meson
  printf '#!/bin/sh\nPYTHONPATH=%s exec /usr/bin/python3 %s "$@"\n' \
    "$W/apt/root/usr/lib/python3/dist-packages" "$W/apt/root/usr/bin/meson" > "$W/meson"
  chmod +x "$W/meson"
fi

# 3. mediasoup sources from the npm tarball
echo "  unpacking mediasoup@$MEDIASOUP_VERSION from npm" >&2
rm -rf package "mediasoup-$MEDIASOUP_VERSION.tgz"
npm pack "mediasoup@$MEDIASOUP_VERSION" >>"$LOG" 2>&1 && tar xzf "mediasoup-$MEDIASOUP_VERSION.tgz"
SP=package/worker/subprojects
[ -f $SP/libsrtp3.wrap ] || die "mediasoup $MEDIASOUP_VERSION does not use libsrtp3; this script supports >= 3.16.6"
rm -f $SP/*.wrap       # no downloads: every subproject becomes a local shim

# 4. shim subprojects mapping mediasoup's meson variables onto Debian's libraries
for d in openssl libuv usrsctp abseil-cpp flatbuffers catch2 libsrtp3; do
  mkdir -p $SP/$d; echo '/* link_whole placeholder, never built */' > $SP/$d/dummy.c
done
cat > $SP/openssl/meson.build <<'M'
project('openssl', 'c')
openssl_dep = dependency('openssl')
libcrypto_lib = static_library('shim_crypto', 'dummy.c', build_by_default: false)
libssl_lib = static_library('shim_ssl', 'dummy.c', build_by_default: false)
M
cat > $SP/libuv/meson.build <<'M'
project('libuv', 'c')
libuv_dep = dependency('libuv')
libuv = static_library('shim_uv', 'dummy.c', build_by_default: false)
M
printf "option('build_tests', type: 'boolean', value: false)\noption('build_benchmarks', type: 'boolean', value: false)\n" > $SP/libuv/meson_options.txt
cat > $SP/usrsctp/meson.build <<'M'
project('usrsctp', 'c')
usrsctp_dep = dependency('usrsctp')
usrsctp = static_library('shim_usrsctp', 'dummy.c', build_by_default: false)
M
printf "option('sctp_build_programs', type: 'boolean', value: false)\n" > $SP/usrsctp/meson_options.txt
cat > $SP/abseil-cpp/meson.build <<'M'
project('abseil-cpp', 'c', 'cpp')
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_flat_hash_map'), dependency('absl_flat_hash_set'),
  dependency('absl_btree'), dependency('absl_inlined_vector'), dependency('absl_memory')])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = dependency('absl_optional')
absl_container_lib = static_library('shim_absl', 'dummy.c', build_by_default: false)
M
cat > $SP/flatbuffers/meson.build <<'M'
project('flatbuffers', 'c', 'cpp')
flatbuffers_dep = dependency('flatbuffers')
flatbuffers_lib = static_library('shim_flatbuffers', 'dummy.c', build_by_default: false)
M
cat > $SP/catch2/meson.build <<'M'
project('catch2', 'c')
catch2_dep = declare_dependency()
M
cat > $SP/libsrtp3/meson.build <<'M'
project('libsrtp3', 'c')
libsrtp3_dep = declare_dependency(dependencies: dependency('libsrtp2'),
  include_directories: include_directories('include'))
libsrtp3 = static_library('shim_srtp', 'dummy.c', build_by_default: false)
M
printf "option('crypto-library', type: 'string', value: 'openssl')\noption('crypto-library-kdf', type: 'feature', value: 'disabled')\noption('tests', type: 'feature', value: 'disabled')\n" > $SP/libsrtp3/meson_options.txt
mkdir -p $SP/libsrtp3/include
cat > $SP/libsrtp3/include/srtp.h <<'M'
/* mediasoup >= 3.16.6 uses the libsrtp 3.0 API; map it onto Debian's libsrtp 2.x */
#ifndef MS_SHIM_SRTP_H
#define MS_SHIM_SRTP_H
#include <srtp2/srtp.h>
#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
#include <cstring>
constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(29);
#define MS_PROTECT(fn) \
  inline srtp_err_status_t fn(srtp_t c, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t mki) { \
    if (mki != 0) return srtp_err_status_bad_param; \
    if (*outLen < inLen + SRTP_MAX_TRAILER_LEN) return srtp_err_status_buffer_small; \
    if (out != in) std::memmove(out, in, inLen); \
    int l = static_cast<int>(inLen); const srtp_err_status_t e = fn(c, out, &l); \
    *outLen = static_cast<size_t>(l); return e; }
#define MS_UNPROTECT(fn) \
  inline srtp_err_status_t fn(srtp_t c, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen) { \
    if (out != in) { if (*outLen < inLen) return srtp_err_status_buffer_small; std::memmove(out, in, inLen); } \
    int l = static_cast<int>(inLen); const srtp_err_status_t e = fn(c, out, &l); \
    *outLen = static_cast<size_t>(l); return e; }
MS_PROTECT(srtp_protect)
MS_PROTECT(srtp_protect_rtcp)
MS_UNPROTECT(srtp_unprotect)
MS_UNPROTECT(srtp_unprotect_rtcp)
inline srtp_err_status_t srtp_stream_remove(srtp_t s, uint32_t ssrc) { return srtp_remove_stream(s, ssrc); }
#endif
#endif
M

# 5. DTLS fix: mediasoup's BIO callback answers 1 to every BIO_ctrl(); with Debian's KTLS-enabled
#    OpenSSL, BIO_get_ktls_send() then says "yes" and the worker crashes on the first ClientHello.
F=package/worker/src/RTC/DtlsTransport.cpp
sed -i 's/(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;/(operationType \& BIO_CB_RETURN) ? static_cast<long>(ret) : 1;/' $F
grep -q '(operationType & BIO_CB_RETURN)' $F || die "DtlsTransport fix did not apply to mediasoup $MEDIASOUP_VERSION"

# 6. configure, then build flatc headers first (libwebrtc lacks that edge), then only the worker.
cd package/worker
rm -rf "$W/build"
T0=$(date +%s)
echo "  meson setup" >&2
"$W/meson" setup --wrap-mode=nodownload --buildtype=release -Db_ndebug=true -Dms_disable_liburing=true \
  "$W/build" >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "meson setup failed (log: $LOG)"; }
"$W/meson" compile -C "$W/build" flatbuffers-generator >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "flatbuffers generation failed"; }
# ninja prints [n/total] lines; show one progress line every 10 %.
"$W/meson" compile -C "$W/build" -j "$(nproc)" mediasoup-worker 2>&1 | tee -a "$LOG" | \
  awk -F'[][/]' '/^\[[0-9]+\/[0-9]+\]/ { p = int($2 * 10 / $3); if (p > last) { last = p; printf "  compiling: %d%% (%s/%s)\n", p * 10, $2, $3 > "/dev/stderr" } }'
[ "${PIPESTATUS[0]}" -eq 0 ] || { tail -n 30 "$LOG" >&2; die "worker compile failed (log: $LOG)"; }
echo "  compiled in $(( $(date +%s) - T0 )) s" >&2
install -D -m755 "$W/build/mediasoup-worker" "$BIN.tmp" && strip "$BIN.tmp"
runs_here "$BIN.tmp" || die "the built worker does not start (log: $LOG)"
mv "$BIN.tmp" "$BIN"
rm -rf "$W/build" "$W/package"
echo "$BIN"
