#!/usr/bin/env bash
# make test's front door: check the course as committed, whatever a learner changed.
#
#   scripts/as-committed.sh MAKE [ARG...]      (from the course folder; the Makefile's `test` runs it)
#
# A learner's checkout holds their solved exercises, notebooks JupyterLab autosaved and files of
# their own, and make test must neither depend on them nor touch them. So: in a checkout where
# `git status` shows no change (CI's fresh clone), this runs `MAKE ARG...` right here. Otherwise it
# says so in one line and runs the same command in a temporary clean copy of HEAD: a
# `git clone --shared` (it only reads this repository), with .venv linked to this checkout's and
# ~/.cache/coursekit shared as it always is, removed afterwards. Its exit status is the command's.
# Outside git (or before the first commit) there is nothing committed to check: it runs here.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: scripts/as-committed.sh MAKE [ARG...]" >&2; exit 2; }
root=$(pwd -P)

# --no-optional-locks: a status must not even refresh the learner's index
if ! changes=$(git --no-optional-locks -C "$root" status --porcelain -- . 2>/dev/null) ||
   ! head=$(git -C "$root" rev-parse --verify --quiet HEAD 2>/dev/null); then
  echo "make test: note: $root is not a git checkout with a commit, so it is checked as it is"
  exec "$@"
fi
if [ -z "$changes" ]; then
  exec "$@"
fi

top=$(git -C "$root" rev-parse --show-toplevel)
prefix=$(git -C "$root" rev-parse --show-prefix)   # the course folder inside its repository
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coursekit-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
git clone --quiet --shared --no-checkout "$top" "$tmp/repo"
git -C "$tmp/repo" -c advice.detachedHead=false checkout --quiet --detach "$head"
copy="$tmp/repo/$prefix"
copy=${copy%/}
if [ -e "$root/.venv" ]; then
  ln -s "$root/.venv" "$copy/.venv"
  echo "/$prefix.venv" >> "$tmp/repo/.git/info/exclude"   # .gitignore's ".venv/" matches no link: keep the copy clean
fi

count=$(printf '%s\n' "$changes" | wc -l)
first=$(printf '%s\n' "$changes" | head -n 1 | cut -c4-)
more=$([ "$count" -gt 1 ] && echo " and $((count - 1)) more" || true)
echo "make test: this checkout has uncommitted changes ($first$more), so the course as committed" \
     "(HEAD ${head:0:12}) is checked in a clean copy, $copy; your files are not touched" \
     "(make test-in-place checks this folder as it is)"

cd "$copy"
# the copy's own code, not the one .venv's editable install points at (this checkout's src/)
export PYTHONPATH="$copy/src${PYTHONPATH:+:$PYTHONPATH}"
unset COURSE_ROOT
status=0
"$@" || status=$?
exit "$status"
