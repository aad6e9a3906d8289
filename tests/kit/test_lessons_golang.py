"""lessons.golang: the Go toolchains `make go` installs, the lessons' Go programs, their runs.

Without Go (another OS, `make go` not run) these tests skip and say why, unless
COURSEKIT_REQUIRE_GO=1 (CI), which turns the skip into a failure: CI must run real Go.
Every program of lessons/go is built with both toolchains, since a lesson runs some on each.
"""

import json
import re

import pytest

from lessons import golang

RELEASES = [golang.CURRENT, golang.OLDER]
PROGRAMS = sorted(p.stem for p in golang.PROGRAMS.glob("*.go"))


def need(release):
    reason = golang.skip_reason(release)
    if reason:
        if golang.required():
            pytest.fail(f"COURSEKIT_REQUIRE_GO=1 but {reason}")
        pytest.skip(reason)


@pytest.mark.parametrize("release", RELEASES)
def test_the_toolchain_is_the_pinned_release(release):
    need(release)
    assert golang.version(release) == f"go{release}"


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", PROGRAMS)
def test_every_program_builds_with_both_toolchains(name, release):
    need(release)
    assert golang.binary(name, release).is_file()


def test_there_are_programs_to_build():
    assert {"spawn", "pingpong", "syscalls", "tightloop", "fairness", "million"} <= set(PROGRAMS)


def test_a_run_gets_the_environment_it_asks_for_and_none_of_the_callers(monkeypatch):
    need(golang.CURRENT)
    monkeypatch.setenv("GOMAXPROCS", "7")          # a learner's own setting must not leak in
    monkeypatch.setenv("GODEBUG", "asyncpreemptoff=1")
    out = json.loads(golang.run("gomaxprocs", "-set", "1").stdout)
    assert out["env"] == "" and out["after_set"] == 1 and out["version"] == f"go{golang.CURRENT}"
    assert json.loads(golang.run("gomaxprocs", gomaxprocs=3).stdout)["start"] == 3


def test_a_run_past_its_timeout_is_killed_and_says_so():
    need(golang.CURRENT)
    # a loop with no function call on the only P, and no asynchronous preemption: it never ends
    hung = golang.run("tightloop", gomaxprocs=1, godebug="asyncpreemptoff=1", timeout=3)
    assert hung.timed_out and hung.returncode != 0 and "main resumed" not in hung.stdout
    done = golang.run("tightloop", gomaxprocs=1, timeout=60)
    assert not done.timed_out and done.returncode == 0 and "main resumed" in done.stdout


@pytest.mark.parametrize("release", RELEASES)
def test_schedtrace_lines_of_real_go_parse(release):
    need(release)
    r = golang.run("spawn", "-n", "300", "-ms", "1", gomaxprocs=2, godebug="schedtrace=20", release=release)
    rows = golang.parse_schedtrace(r.stderr)
    assert rows, f"no SCHED line in {r.stderr[:300]!r}"
    assert all(row["gomaxprocs"] == 2 and len(row["runq"]) == 2 for row in rows)
    # the per-P schedticks field was added to schedtrace after 1.24
    assert all(("schedticks" in row) == (release == golang.CURRENT) for row in rows)


def test_parse_schedtrace_reads_both_formats_and_skips_other_lines():
    text = ("SCHED 108ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 needspinning=1 "
            "idlethreads=1 runqueue=259 [ 161 72 ] schedticks=[ 54 59 ]\n"
            "hello\n"
            "SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 needspinning=0 "
            "idlethreads=0 runqueue=0 [0 0]\n")
    new, old = golang.parse_schedtrace(text)
    assert new["ms"] == 108 and new["runqueue"] == 259 and new["runq"] == [161, 72]
    assert new["schedticks"] == [54, 59] and new["threads"] == 4 and new["needspinning"] == 1
    assert old["runq"] == [0, 0] and "schedticks" not in old and old["idleprocs"] == 1


def test_func_source_quotes_one_function_with_its_doc_comment_and_line_numbers():
    need(golang.CURRENT)
    text = golang.func_source("runtime/proc.go", "runqput")
    first, last = text.splitlines()[0], text.splitlines()[-1]
    assert re.match(r"\s*\d+  // runqput", first) and last.rstrip().endswith("}")
    lines = golang.source("runtime/proc.go").splitlines()
    number = int(first.split()[0])
    assert lines[number - 1].startswith("// runqput")
    with pytest.raises(LookupError):
        golang.func_source("runtime/proc.go", "no_such_function_here")


def test_the_two_releases_differ_where_the_lessons_say():
    need(golang.CURRENT)
    need(golang.OLDER)
    # Go 1.26 retired the P status _Psyscall (runtime2.go keeps its number as _Psyscall_unused)
    assert "_Psyscall_unused" in golang.source("runtime/runtime2.go")
    assert "_Psyscall_unused" not in golang.source("runtime/runtime2.go", golang.OLDER)
    assert "exitsyscallfast(" in golang.source("runtime/proc.go", golang.OLDER)
    assert "exitsyscallTryGetP(" in golang.source("runtime/proc.go")
