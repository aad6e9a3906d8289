#!/usr/bin/env bash
# Install the newest CPython Debian packages (sid's python3.15 3.15.2-1, a classic GIL build)
# into a cache outside the repo, from Debian's archive only, for lesson 07's 3.14+ cells.
# `make newest-python` runs this; lessons find the result with lessons.pythons.newest().
#
# Why this way: Debian's archive lists the *source* package python3.15 3.15.2-1 in sid but
# answers 404 for its .dsc and .orig.tar.xz, so it cannot be built from source the way
# scripts/freethreaded.sh builds 3.13t (and no free-threaded 3.15 can be made here). The
# *binary* packages are served. They need sid's C library (GLIBC_2.38+; bookworm has 2.36) and
# a few sid libraries (libmpdec4, libzstd1 >= 1.5.5, ...), so we install them next to it, never
# into /usr:
#   1. apt-get update + apt-get download with a private sources list (sid, main, amd64), private
#      state/cache dirs and the host's debian-archive-keyring: apt checks the OpenPGP signature
#      of sid's InRelease (signed by the bookworm and trixie automatic signing keys) and, for every
#      .deb, its size and SHA256 against the Packages index that InRelease signs; a mismatch is an
#      error (apt refuses to continue). /etc/apt is never read for sources nor changed.
#   2. dpkg-deb -x every .deb into a staging dir (no maintainer scripts run; nothing registered).
#   3. patchelf: the python binary's ELF interpreter becomes the staged sid ld-linux, and its
#      DT_RPATH (--force-rpath, not DT_RUNPATH) the staged lib dir: glibc's loader searches the
#      executable's DT_RPATH for every object it loads, also for the extension modules import
#      dlopen()s later and for their own dependencies (ld.so(8), "Rpath token expansion" and the
#      search order), so the whole process uses sid's libraries and never bookworm's.
#   4. a smoke test (imports, python -m asyncio ps --help, a child via sys.executable, a
#      forkserver pool, an InterpreterPoolExecutor), then an atomic rename of a symlink.
#
# Layout ($CACHE = ${COURSEKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coursekit}):
#   $CACHE/debian-python-3.15.2-1/          the extracted packages (usr/, etc/); paths compiled
#                                           into the binary by patchelf point here
#   $CACHE/python-3.15 -> debian-python-3.15.2-1/usr
#                                           the public name: $CACHE/python-3.15/bin/python3.15
#
# `scripts/newest-python.sh --where` prints the interpreter's path and does nothing else.
# Idempotent: when the interpreter is in place and starts, it only says so (< 1 s).
# Other architectures than amd64, or a host without apt-get/dpkg-deb: a note and exit 0 (the
# 3.14+ cells then say "skipped: ..."), unless COURSEKIT_REQUIRE_NEWEST=1 (CI), which fails.
# Environment: COURSEKIT_CACHE, COURSEKIT_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# COURSEKIT_REQUIRE_NEWEST.
set -euo pipefail

PKG_VERSION=3.15.2-1       # sid's python3.15 (dists/sid/main/binary-amd64/Packages, 2026-12)
MINOR=3.15
# The python debs, then every library the binary and its lib-dynload/*.so need (from the debs'
# Depends and checked below with the staged loader: nothing may resolve outside the stage).
PACKAGES=(python3.15-minimal libpython3.15-minimal libpython3.15-stdlib python3.15
          libc6 libgcc-s1 zlib1g libexpat1 libzstd1 libssl3t64 libbz2-1.0 libffi8 liblzma5
          libncursesw6 libtinfo6 libreadline8t64 libsqlite3-0 libuuid1 libmpdec4)

CACHE="${COURSEKIT_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/coursekit}"
PREFIX="$CACHE/debian-python-$PKG_VERSION"
LINK="$CACHE/python-$MINOR"
PY="$LINK/bin/python$MINOR"
MIRROR="${COURSEKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
MIRROR="${MIRROR%/}"
WORK=""       # this run's temporary dir (apt state, downloads, staging), removed on exit
STAGING=""    # set while $PREFIX is being written

say() { echo "newest-python: $*"; }
die() { echo "newest-python: error: $*" >&2; exit 1; }
unsupported() {  # no way to install here: a note, or a failure when CI requires the interpreter
  if [ "${COURSEKIT_REQUIRE_NEWEST:-}" = 1 ]; then die "$* (COURSEKIT_REQUIRE_NEWEST=1 requires it)"; fi
  say "note: $*; lesson 07's 3.14+ cells will say skipped"
  exit 0
}

ready() {  # $1 = interpreter: starts and is $MINOR
  [ -x "$1" ] && [ "$("$1" -I -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$MINOR" ]
}

apt_reason() {  # apt's first error line, without the "E: "
  { grep -m1 '^E:' "$WORK/apt.log" || grep -m1 -E '^(W|Err):' "$WORK/apt.log" || tail -n1 "$WORK/apt.log"; } | sed 's/^E: //'
}

download() {  # the .debs -> $WORK/debs, verified by apt (signature of InRelease, hash of each .deb)
  local apt=$WORK/apt keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || unsupported "$keyring not found (Debian's debian-archive-keyring package)"
  mkdir -p "$apt"/{etc/sources.list.d,etc/preferences.d,state/lists/partial,cache/archives/partial} "$WORK/debs"
  echo "deb [arch=amd64 signed-by=$keyring] $MIRROR sid main" > "$apt/etc/sources.list"
  local opts=(-q -o "Dir::Etc::SourceList=$apt/etc/sources.list" -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
              -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d" -o "Dir::State=$apt/state"
              -o "Dir::State::status=/dev/null" -o "Dir::Cache=$apt/cache"
              -o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "Acquire::Languages=none"
              -o "APT::Update::Error-Mode=any" -o "Acquire::Retries=1" -o "Acquire::http::Timeout=20")
  if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then  # apt's download sandbox user writes there
    chmod 755 "$WORK"; chown _apt "$WORK/debs"
  fi
  say "fetching Debian sid's python3.15 $PKG_VERSION and ${#PACKAGES[@]} packages from $MIRROR"
  apt-get "${opts[@]}" update > "$WORK/apt.log" 2>&1 ||
    die "cannot fetch sid's signed package index from $MIRROR: $(apt_reason)"
  local have; have="$(apt-cache "${opts[@]}" show --no-all-versions python3.15-minimal 2>/dev/null | sed -n 's/^Version: //p')"
  [ "$have" = "$PKG_VERSION" ] ||
    die "sid offers python3.15 ${have:-nothing}, this script installs $PKG_VERSION: update PKG_VERSION in $0"
  (cd "$WORK/debs" && apt-get "${opts[@]}" download "${PACKAGES[@]}") > "$WORK/apt.log" 2>&1 ||
    die "apt-get download failed: $(apt_reason)"
}

check_libraries() {  # every ELF file of the stage resolves all its libraries inside the stage
  local lib=$1/usr/lib/x86_64-linux-gnu f bad
  for f in "$1/usr/bin/python$MINOR" "$1/usr/lib/python$MINOR"/lib-dynload/*.so; do
    bad="$("$lib/ld-linux-x86-64.so.2" --library-path "$lib" --list "$f" 2>&1 \
           | grep -E 'not found|=> /' | grep -v -F "=> $lib/" || true)"
    [ -z "$bad" ] || die "$(basename "$f") needs a library no listed package gives: $(echo "$bad" | head -1 | xargs)"
  done
}

smoke_test() {  # $1 = interpreter; run from / so that nothing of the current dir is imported
  cat > "$WORK/smoke.py" <<'EOF'
import asyncio, _remote_debugging, concurrent.interpreters, _zstd, ssl, sqlite3, ctypes, decimal, lzma, bz2, uuid, readline
from concurrent.futures import InterpreterPoolExecutor
import multiprocessing, subprocess, sys
if __name__ == "__main__":
    child = subprocess.run([sys.executable, "-c", "import ssl, _zstd; print('ok')"], capture_output=True, text=True)
    assert child.stdout.strip() == "ok", child.stderr
    assert multiprocessing.get_start_method() == "forkserver"      # the 3.14+ default on Linux
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        assert pool.map(abs, [-1, -2]) == [1, 2]
    with InterpreterPoolExecutor(2) as pool:
        assert list(pool.map(abs, [-3, -4])) == [3, 4]
    print("smoke ok", sys.version.split()[0])
EOF
  (cd / && timeout 120 "$1" -I "$WORK/smoke.py" && timeout 60 "$1" -I -m asyncio ps --help) > "$WORK/smoke.log" 2>&1 ||
    die "the smoke test of $1 failed: $(grep -v '^ ' "$WORK/smoke.log" | tail -n1)"
  grep -q "^smoke ok $MINOR" "$WORK/smoke.log" || die "the smoke test of $1 printed no 'smoke ok': $(tail -n1 "$WORK/smoke.log")"
}

install() {
  local t0=$SECONDS lib=$PREFIX/usr/lib/x86_64-linux-gnu
  command -v patchelf >/dev/null || {
    if [ "$(id -u)" = 0 ]; then
      say "installing patchelf (Debian's package) to point the binary at sid's libraries"
      apt-get install -y -qq patchelf >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq patchelf >/dev/null; } ||
        die "apt-get install patchelf failed"
    else die "patchelf not found: sudo apt-get install patchelf"; fi; }
  download
  STAGING=1
  rm -rf "$PREFIX" "$PREFIX.tmp"
  mkdir -p "$PREFIX.tmp"
  for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$PREFIX.tmp" || die "dpkg-deb -x $(basename "$deb") failed"; done
  mv -T "$PREFIX.tmp" "$PREFIX"  # patchelf writes the final absolute paths: patch in place
  check_libraries "$PREFIX"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$PREFIX/usr/bin/python$MINOR" ||
    die "patchelf failed on $PREFIX/usr/bin/python$MINOR"
  smoke_test "$PREFIX/usr/bin/python$MINOR"
  ln -sfn "$(basename "$PREFIX")/usr" "$LINK.new" && mv -Tf "$LINK.new" "$LINK"   # atomic publish
  STAGING=
  say "installed in $((SECONDS - t0)) s ($(du -sh "$PREFIX" | cut -f1) on disk): $PY"
}

main() {
  case "${1:-}" in
    "") ;;
    --where) echo "$PY"; return 0 ;;   # where the interpreter is (or will be); changes nothing
    *) die "usage: $0 [--where]" ;;
  esac
  [ "$(uname -m)" = x86_64 ] || unsupported "Debian's python3.15 is installed for amd64 only; this is $(uname -m)"
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    unsupported "apt-get and dpkg-deb are needed (a Debian or Ubuntu host)"
  mkdir -p "$CACHE" 2>/dev/null || die "cannot create the cache dir $CACHE (set COURSEKIT_CACHE to a writable dir)"
  if command -v flock >/dev/null; then  # two installs at once would fight over the same prefix
    exec 9>"$CACHE/.newest-python.lock"
    flock -n 9 || { say "another install holds $CACHE/.newest-python.lock; waiting"; flock 9; }
  fi
  if ready "$PY"; then say "Python $PKG_VERSION (Debian sid, GIL build) is ready: $PY"; return 0; fi
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/coursekit-newest-python.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  install
}

# shellcheck disable=SC2329  # cleanup runs from the EXIT trap
cleanup() {  # on any exit: drop the work dir and an unfinished prefix
  rm -rf "$WORK"
  if [ -n "$STAGING" ]; then rm -rf "$PREFIX" "$PREFIX.tmp"; fi
}

# main runs only once bash has read this whole file: editing it during an install is safe.
main "$@"; exit
