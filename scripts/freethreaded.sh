#!/usr/bin/env bash
# Build a free-threaded CPython 3.13 ("3.13t", no GIL) without python.org (only Debian's archive
# and PyPI are needed), into a cache outside the repo, plus a venv with ipykernel and a Jupyter
# kernelspec "python3.13t" in the repo's .venv.
# `make freethreaded` runs this; lessons find the result with lessons.freethreaded.find().
#
# Why this way: free-threaded CPython is not packaged for Debian 12/13 nor on PyPI, and
# python.org (where pyenv, uv and the official installers download from) is unreachable here.
# Debian's archive is reachable, and the upstream tarball Debian ships in its *source* package
# of python3.13 (trixie) is byte-identical to python.org's: we fetch it with apt, check its
# sha256 against pyenv's python-build definition, and let python-build do a --disable-gil build.
#
# Layout ($CACHE = ${COURSEKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coursekit}):
#   $CACHE/downloads/Python-3.13.5.tar.xz    verified source, kept: a rebuild needs no network
#   $CACHE/cpython-3.13.5t/                  the installation (its prefix is compiled in)
#   $CACHE/python-3.13t -> cpython-3.13.5t   the public name; the interpreter lessons use is
#                                            $CACHE/python-3.13t/bin/python3.13t
#   $CACHE/venv-3.13t/                       ipykernel, numpy, matplotlib, greenlet 3.2.2
#   <repo>/.venv/share/jupyter/kernels/python3.13t/   kernelspec "Python 3.13 free-threaded"
# The python-3.13t symlink is created by an atomic rename only after the build passed its
# checks, so an interrupted build never leaves a half interpreter under the public name; the
# next run deletes the leftover. The venv is only used once its .coursekit-ready stamp exists.
#
# `scripts/freethreaded.sh --where` prints the interpreter's path and does nothing else.
# Idempotent: when everything is in place it only prints where the interpreter is (< 1 s).
# Works as root and as an ordinary user (apt runs with a private state/config dir; /etc/apt
# is never changed). Needs: apt-get + the Debian mirror (only if the tarball is not cached),
# a C compiler, make, zlib/OpenSSL/libffi headers, and pyenv's python-build.
#
# Environment: COURSEKIT_CACHE (cache dir), COURSEKIT_DEBIAN_MIRROR (default: the machine's
# Debian mirror from /etc/apt), PYTHON_BUILD (path of python-build), PYENV_ROOT, MAKE_OPTS.
set -euo pipefail

PY_VERSION=3.13.5          # what Debian trixie ships (python3.13 3.13.5-2+deb13uN)
DEBIAN_SUITE=trixie
KERNEL_NAME=python3.13t
KERNEL_DISPLAY="Python 3.13 free-threaded"
# Installed into the kernel venv, pinned by the repo's requirements.txt where it pins them.
VENV_PACKAGES=(ipykernel numpy matplotlib pyzmq "greenlet==3.2.2")
# requirements.txt pins with no cp313t (free-threaded) wheel on PyPI are replaced by the newest
# release that has one (checked with `pip download --only-binary=:all:` under 3.13t, 2026-11).
VENV_OVERRIDES=(matplotlib==3.11.1 pyzmq==27.1.0 pillow==12.2.0 kiwisolver==1.5.0)
# No cp313t wheel at all, but a quick, clean build from source (tornado's C speedups keep
# the GIL off). Everything else must come as a wheel: no surprise 10-minute compiles.
VENV_FROM_SOURCE=tornado

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${COURSEKIT_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/coursekit}"
PREFIX="$CACHE/cpython-${PY_VERSION}t"
LINK="$CACHE/python-3.13t"
PY="$LINK/bin/python3.13t"
VENV="$CACHE/venv-3.13t"
TARBALL="$CACHE/downloads/Python-${PY_VERSION}.tar.xz"
KERNEL_DIR="$REPO/.venv/share/jupyter/kernels/$KERNEL_NAME"
WORK=""       # temporary dir of this run (apt state, build tree), removed on exit
BUILDING=""   # set while python-build writes into $PREFIX
BUILD_PID=""  # python-build's pid (and process group) while it runs

say() { echo "freethreaded: $*"; }
die() { echo "freethreaded: error: $*" >&2; exit 1; }

# --- is it already there? -----------------------------------------------------------------

free_threaded() {  # $1 = interpreter: runs, and the GIL is off by default
  [ -x "$1" ] && [ "$(env -u PYTHON_GIL "$1" -c 'import sys; print(sys._is_gil_enabled())' 2>/dev/null)" = False ]
}

venv_stamp() {  # what the venv was made from; a change (new requirements.txt) remakes it
  { readlink -f "$PY" || true; printf '%s\n' "${VENV_PACKAGES[@]}" "${VENV_OVERRIDES[@]}" "$VENV_FROM_SOURCE"; constraints; } | sha256sum | cut -c1-16
}

constraints() {  # requirements.txt without the editable line and the names pinned here instead
  # (the overrides, and greenlet: the course's own venv pins a newer one that has no cp313t wheel)
  local skip="" o
  for o in "${VENV_OVERRIDES[@]}" "${VENV_PACKAGES[@]}"; do
    case "$o" in *==*) skip+="${skip:+|}${o%%[=<>]*}" ;; esac
  done
  grep -v -e '^-e' -e '^#' "$REPO/requirements.txt" 2>/dev/null \
    | { if [ -n "$skip" ]; then grep -viE "^($skip)=="; else cat; fi; } || true
}

venv_ready() { [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.coursekit-ready" 2>/dev/null)" = "$(venv_stamp)" ]; }

kernel_ready() {  # no repo .venv: nothing to register into, so nothing to do
  [ ! -d "$REPO/.venv" ] || grep -qF "\"$VENV/bin/python\"" "$KERNEL_DIR/kernel.json" 2>/dev/null
}

find_python_build() {
  local c
  for c in "${PYTHON_BUILD:-}" "$(command -v python-build 2>/dev/null || true)" \
           "${PYENV_ROOT:-$HOME/.pyenv}/plugins/python-build/bin/python-build" \
           "$(command -v pyenv >/dev/null && pyenv root 2>/dev/null)/plugins/python-build/bin/python-build"; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

debian_mirror() {  # the machine's own Debian mirror (not -security), else deb.debian.org
  if [ -n "${COURSEKIT_DEBIAN_MIRROR:-}" ]; then echo "${COURSEKIT_DEBIAN_MIRROR%/}"; return; fi
  local files=() f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && files+=("$f")
  done
  uri="$( ((${#files[@]})) && awk '
      /^[[:space:]]*#/ { next }
      $1 == "deb" || $1 == "deb-src" {
        for (i = 2; i <= NF; i++) { if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }; print $i; break } }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "${files[@]}" \
    | grep -m1 -E '^https?://[^[:space:]]*/debian/?$' || true)"
  uri="${uri:-http://deb.debian.org/debian}"
  echo "${uri%/}"
}

apt_reason() {  # apt's first error line, without the "E: "
  { grep -m1 '^E:' "$WORK/apt.log" || grep -m1 -E '^(W|Err):' "$WORK/apt.log" || tail -n1 "$WORK/apt.log"; } | sed 's/^E: //'
}

fetch_tarball() {  # Debian's python3.13 source package -> $TARBALL; private apt dirs, /etc/apt untouched
  command -v apt-get >/dev/null ||
    die "apt-get not found: the source comes from Debian's archive; on other systems put python.org's Python-${PY_VERSION}.tar.xz (sha256 $1) at $TARBALL and re-run"
  local mirror apt=$WORK/apt
  mirror="$(debian_mirror)"
  mkdir -p "$apt"/{etc/sources.list.d,etc/preferences.d,state/lists/partial,cache/archives/partial,src}
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || die "$keyring not found: install Debian's debian-archive-keyring package"
  echo "deb-src [signed-by=$keyring] $mirror $DEBIAN_SUITE main" > "$apt/etc/sources.list"
  local opts=(-q -o "Dir::Etc::SourceList=$apt/etc/sources.list" -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
              -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d" -o "Dir::State=$apt/state"
              -o "Dir::Cache=$apt/cache" -o "APT::Update::Error-Mode=any"
              -o "Acquire::Retries=1" -o "Acquire::http::Timeout=20")
  if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then  # let apt's download sandbox user write there
    chmod 755 "$WORK"; chown _apt "$apt/src"
  fi
  say "fetching Debian $DEBIAN_SUITE's python3.13 source package from $mirror"
  apt-get "${opts[@]}" update > "$WORK/apt.log" 2>&1 ||
    die "cannot fetch the $DEBIAN_SUITE source index from $mirror: $(apt_reason)"
  (cd "$apt/src" && apt-get "${opts[@]}" source --download-only python3.13) > "$WORK/apt.log" 2>&1 ||
    die "apt-get source python3.13 failed: $(apt_reason)"
  local orig="$apt/src/python3.13_${PY_VERSION}.orig.tar.xz"
  if [ ! -f "$orig" ]; then
    local got; got="$(find "$apt/src" -name 'python3.13_*.orig.tar.*' -printf '%f\n' | head -1)"
    die "Debian $DEBIAN_SUITE no longer ships Python $PY_VERSION (got ${got:-nothing}); update PY_VERSION in $0 to a version python-build knows as <version>t"
  fi
  mkdir -p "$CACHE/downloads"
  cp "$orig" "$TARBALL.partial" && mv -f "$TARBALL.partial" "$TARBALL"
}

build_interpreter() {
  local pb defs sum
  pb="$(find_python_build)" ||
    die "pyenv's python-build not found (looked at \$PYTHON_BUILD, PATH, ${PYENV_ROOT:-$HOME/.pyenv}): install pyenv (https://github.com/pyenv/pyenv) or set PYTHON_BUILD=/path/to/python-build"
  defs="$(cd "$(dirname "$pb")/../share/python-build" 2>/dev/null && pwd)" || die "$pb has no share/python-build definitions next to it"
  [ -f "$defs/${PY_VERSION}t" ] || die "python-build at $pb does not know ${PY_VERSION}t: update pyenv (cd \$(pyenv root) && git pull)"
  sum="$(grep -o "Python-${PY_VERSION}\.tar\.xz#[0-9a-f]\{64\}" "$defs/$PY_VERSION" | cut -d'#' -f2)"
  [ -n "$sum" ] || die "no sha256 for Python-${PY_VERSION}.tar.xz in $defs/$PY_VERSION"

  local cc; cc="$(command -v cc || command -v gcc || true)"
  [ -n "$cc" ] || die "no C compiler (cc or gcc) found: install one (Debian: apt-get install build-essential)"
  command -v make >/dev/null || die "make not found: install it (Debian: apt-get install build-essential)"
  local missing=() h
  for h in zlib.h:zlib1g-dev openssl/ssl.h:libssl-dev ffi.h:libffi-dev; do
    printf '#include <%s>\n' "${h%%:*}" | "$cc" -E -x c - >/dev/null 2>&1 || missing+=("${h##*:}")
  done
  ((${#missing[@]} == 0)) || die "missing C headers python-build needs; install: ${missing[*]} (Debian package names)"

  if ! { [ -f "$TARBALL" ] && sha256sum "$TARBALL" | grep -q "^$sum "; }; then
    fetch_tarball "$sum"
  fi
  sha256sum "$TARBALL" | grep -q "^$sum " ||
    { rm -f "$TARBALL"; die "Python-${PY_VERSION}.tar.xz from Debian does not match pyenv's sha256 $sum; removed it"; }
  say "source verified: $TARBALL (sha256 matches $defs/$PY_VERSION)"

  rm -rf "$LINK" "$PREFIX"   # leftovers of an interrupted or broken build
  say "building Python ${PY_VERSION}t with $pb (a few minutes; log: $CACHE/build.log)"
  local t0=$SECONDS
  BUILDING=1
  # In the background, in its own process group, so that Ctrl-C or a kill stops it at once
  # (a trap runs only when `wait` returns) and cleanup() can end the whole build.
  local own_group=(); command -v setsid >/dev/null && own_group=(setsid)
  env TMPDIR="$WORK" PYTHON_BUILD_BUILD_PATH="$WORK/build" PYTHON_BUILD_CACHE_PATH="$CACHE/downloads" \
      PYTHON_BUILD_SKIP_MIRROR=1 "${own_group[@]}" "$pb" "${PY_VERSION}t" "$PREFIX" > "$CACHE/build.log" 2>&1 &
  BUILD_PID=$!
  local rc=0; wait "$BUILD_PID" || rc=$?
  BUILD_PID=
  if ((rc != 0)); then
    cat "$WORK"/python-build.*.log >> "$CACHE/build.log" 2>/dev/null || true
    rm -rf "$PREFIX"
    die "python-build ${PY_VERSION}t failed: $(grep -m1 -E 'ERROR|error:' "$CACHE/build.log" || echo "see $CACHE/build.log") (full log: $CACHE/build.log)"
  fi
  [ -x "$PREFIX/bin/python3.13t" ] || die "the build produced no $PREFIX/bin/python3.13t (log: $CACHE/build.log)"
  free_threaded "$PREFIX/bin/python3.13t" || die "the build in $PREFIX is not free-threaded: sys._is_gil_enabled() is not False"
  ln -sfn "$(basename "$PREFIX")" "$LINK.new" && mv -Tf "$LINK.new" "$LINK"   # atomic publish
  BUILDING=
  say "built in $((SECONDS - t0)) s: $PY"
}

main() {
  case "${1:-}" in
    "") ;;
    --where) echo "$PY"; return 0 ;;   # where the interpreter is (or will be); changes nothing
    *) die "usage: $0 [--where]" ;;
  esac
  mkdir -p "$CACHE" 2>/dev/null || die "cannot create the cache dir $CACHE (set COURSEKIT_CACHE to a writable dir)"
  if command -v flock >/dev/null; then  # two builds at once would fight over the same prefix
    exec 9>"$CACHE/.lock"
    flock -n 9 || { say "another build holds $CACHE/.lock; waiting"; flock 9; }
  fi

  if free_threaded "$PY" && venv_ready && kernel_ready; then
    say "Python ${PY_VERSION}t (free-threaded) is ready: $PY"
    return 0
  fi

  WORK="$(mktemp -d "${TMPDIR:-/tmp}/coursekit-freethreaded.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP

  # --- 1. the interpreter -------------------------------------------------------------------
  free_threaded "$PY" || build_interpreter

  # --- 2. the kernel venv ---------------------------------------------------------------------

  if ! venv_ready; then
    say "making $VENV (ipykernel, numpy, matplotlib, pyzmq, greenlet 3.2.2)"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || die "python3.13t -m venv $VENV failed"
    constraints > "$WORK/constraints.txt"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
          --no-binary="$VENV_FROM_SOURCE" -c "$WORK/constraints.txt" "${VENV_PACKAGES[@]}" "${VENV_OVERRIDES[@]}" > "$WORK/pip.log" 2>&1; then
      cp "$WORK/pip.log" "$CACHE/venv.log"
      die "pip install into $VENV failed: $(grep -m1 '^ERROR' "$WORK/pip.log" || tail -n1 "$WORK/pip.log") (log: $CACHE/venv.log)"
    fi
    venv_stamp > "$VENV/.coursekit-ready"
    rm -f "$CACHE/venv.log"
  fi

  # --- 3. the Jupyter kernelspec in the repo's .venv ------------------------------------------

  if [ ! -d "$REPO/.venv" ]; then
    say "note: $REPO/.venv does not exist, so no Jupyter kernel was registered (run make venv, then this again)"
  elif ! kernel_ready; then
    "$VENV/bin/python" -m ipykernel install --prefix "$REPO/.venv" --name "$KERNEL_NAME" \
        --display-name "$KERNEL_DISPLAY" > "$WORK/kernel.log" 2>&1 ||
      die "registering the Jupyter kernel failed: $(tail -n1 "$WORK/kernel.log")"
    say "Jupyter kernel \"$KERNEL_DISPLAY\" ($KERNEL_NAME) registered in $REPO/.venv"
  fi

  say "Python ${PY_VERSION}t (free-threaded) is ready: $PY"
}

# shellcheck disable=SC2329  # cleanup runs from the EXIT trap
cleanup() {  # on any exit: stop a running build, drop the work dir and an unfinished prefix
  if [ -n "$BUILD_PID" ]; then
    kill -TERM -- "-$BUILD_PID" 2>/dev/null || kill -TERM "$BUILD_PID" 2>/dev/null || true
    wait "$BUILD_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  if [ -n "$BUILDING" ]; then rm -rf "$PREFIX"; fi
}

# main runs only once bash has read this whole file: editing it during a build is safe.
main "$@"; exit
