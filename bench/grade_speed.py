"""How fast does the sandboxed grader grade, against notebook autograding of the same work?

    .venv/bin/python bench/grade_speed.py [--n 5] [--jobs 1] [--keep] [--calls 200] [--busy 0]

Goals (issue: sandboxed grader): at least 10x faster per submission than notebook execution
on equivalent work; the sandbox's overhead per test call under 10 ms (median).

In one run it grades N copies of solutions/ and N copies of exercises/ (the stubs) both ways:

* coursekit: ``python -m coursekit grade SUBMISSION... --out DIR --jobs J`` once for all 2N
  (per submission: results.json's ``execution_time``), then once per submission (wall clock,
  CLI start included: the conservative number);
* notebooks, as nbgrader and otter autograde: per submission and lesson, one notebook - a
  setup cell, the learner's files as answer cells, one autograder test cell per graded test,
  the tests running in the kernel against the learner's code loaded there - executed by
  nbclient in a fresh kernel with nbgrader's Execute settings (per-cell timeout = the
  course's call_timeout; a timed-out cell scores 0). Kernel start to stop, summed per
  submission.

Then the per-call overhead (a trivial call through the sandbox's forked child, the plain
Launcher's cold child, a bare ``python -I -c pass``, the notebook's in-process call), where
each side's time goes, and whether both ways give every task the same score (they must: a
difference means the baseline is not the same work). bench/README.md explains the design,
why the baseline is fair and generous, and how to read the table.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

from coursekit.manifest import Course, load_course  # noqa: E402

SPEEDUP_GOAL = 10.0      # notebook p50 / coursekit p50, per submission
OVERHEAD_GOAL_MS = 10.0  # median per-call overhead of the sandbox's forked child
# nbclient's default (and nbgrader's) is "graceful": ask the kernel to exit and wait for it.
# "immediate" kills it once the last cell has replied: the same verdicts, faster - generous to
# the baseline (measured here: graceful costs 0.3-0.4 s more per notebook, 2.5 s more once the
# tests have used a multiprocessing pool)
KERNEL_SHUTDOWN = "immediate"
KERNEL_LOG: Any = None   # where the kernels' stderr goes (their start-up warnings)


# ---------------------------------------------------------------------------- small helpers

def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Submission:
    name: str          # sol-01, stub-03 ...
    kind: str          # "solutions" or "stubs"
    folder: Path


@dataclass
class Graded:
    """One way's result for one submission."""
    seconds: float
    outcome: dict[str, str] = field(default_factory=dict)    # test nodeid -> passed/failed/skipped
    scores: dict[str, float] = field(default_factory=dict)    # task id -> points earned
    sandboxed: Any = None                                     # coursekit: results.json's extra_data
    parts: dict[str, float] = field(default_factory=dict)     # where the time went


# ---------------------------------------------------------------------------- setup

def make_submissions(course: Course, work: Path, n: int) -> list[Submission]:
    subs = []
    for kind, src in (("solutions", course.root / "solutions"), ("stubs", course.root / "exercises")):
        for i in range(1, n + 1):
            name = f"{'sol' if kind == 'solutions' else 'stub'}-{i:02d}"
            dest = work / "submissions" / name
            dest.mkdir(parents=True)
            for module in course.modules:
                if (src / module.id).is_dir():
                    shutil.copytree(src / module.id, dest / module.id,
                                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            subs.append(Submission(name, kind, dest))
    return subs


def collect_tests(course: Course) -> dict[str, list[tuple[str, str, str]]]:
    """{module id: [(nodeid, task id, description), ...]} in pytest's order (collected in
    this process, once)."""
    import pytest

    from coursekit.pytest_plugin import module_id_of, task_of

    class Collector:
        def __init__(self) -> None:
            self.items: list[Any] = []

        def pytest_collection_finish(self, session: pytest.Session) -> None:
            self.items = list(session.items)

    files = [str(course.root / m.tests) for m in course.modules if (course.root / m.tests).is_file()]
    collector = Collector()
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    args = [*files, f"--rootdir={course.root}", "-c", str(course.root / "pyproject.toml"), "--collect-only",
            "-p", "no:cacheprovider", "-p", "no:terminal", "--target=solutions"]
    code = pytest.main(args, plugins=[collector])
    if code not in (0, pytest.ExitCode.OK):
        raise SystemExit(f"grade_speed: collecting the graded tests failed ({code!r})")
    out: dict[str, list[tuple[str, str, str]]] = {}
    for item in collector.items:
        mid = module_id_of(item)
        if mid:
            doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
            out.setdefault(mid, []).append((item.nodeid, task_of(item) or "", doc.splitlines()[0] if doc else ""))
    for mod in out:
        sys.modules.pop(f"test_{mod}", None)   # as check(): later runs import the test files afresh
    return out


# ---------------------------------------------------------------------------- notebook side

def build_notebook(course: Course, sub: Submission, module_id: str, tests: list[tuple[str, str, str]]) -> Any:
    """The autograder notebook of one lesson of one submission (see bench/README.md)."""
    import nbformat.v4 as v4

    module = course.module(module_id)
    folder = sub.folder / module_id
    cells = [v4.new_code_cell(
        "# setup (hidden in nbgrader's release): the grading helpers and the submission's folder\n"
        "import sys\n"
        f"sys.path.insert(0, {str(BENCH)!r})\n"
        f"sys.path.insert(0, {str(folder)!r})   # spawn workers import the learner's modules from here\n"
        "import _nb_kernel as grader\n"
        "grader.install_magic()\n%xmode Minimal")]
    files = sorted({t.file for t in course.tasks.values() if t.module_id == module_id})
    for name in files:
        path = folder / name
        source = path.read_text(encoding="utf-8") if path.is_file() else "# (the file is missing)\n"
        cells.append(v4.new_code_cell(f"%%answer {Path(name).stem} {path}\n{source}"))
    cells.append(v4.new_code_cell(
        "# the graded tests: pytest configured and the lesson's tests collected once per notebook\n"
        f"grader.start({str(course.root)!r}, {str(course.root / module.tests)!r}, {str(sub.folder)!r}, "
        f"{course.call_timeout!r})"))
    for nodeid, task, doc in tests:
        cell = v4.new_code_cell(f"# autograder test, task {task}: {doc}\ngrader.grade({nodeid!r})")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                     "grade_id": nodeid, "points": 1, "task": task}
        cells.append(cell)
    cells.append(v4.new_code_cell("grader.calls()   # bench bookkeeping: calls into the learner's code"))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


async def run_notebook(nb: Any, cwd: Path, timeout: float) -> tuple[dict[str, str], dict[str, float]]:
    """Execute one notebook the way nbgrader's Execute preprocessor does; return each test
    cell's verdict and where the time went."""
    import nbclient
    from nbformat import NotebookNode

    def on_cell_executed(cell: NotebookNode, cell_index: int, execute_reply: dict) -> None:
        # nbgrader's Execute.on_cell_executed: an error reply without an error output (the
        # timed-out cell) gets one, so that the cell scores 0
        if execute_reply["content"]["status"] == "error" and not any(
                o.output_type == "error" for o in cell.outputs):
            cell.outputs.append(nbformat_error(execute_reply["content"]))

    client = nbclient.NotebookClient(
        nb, timeout=int(timeout), kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
        raise_on_iopub_timeout=True, record_timing=False,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": ["ERROR: No reply from kernel"]},
        extra_arguments=["--HistoryManager.hist_file=:memory:"], shutdown_kernel=KERNEL_SHUTDOWN,
        resources={"metadata": {"path": str(cwd)}}, on_cell_executed=on_cell_executed)
    parts: dict[str, float] = {}
    t0 = time.perf_counter()
    extra = {"stderr": KERNEL_LOG} if KERNEL_LOG is not None else {}
    ctx = client.async_setup_kernel(env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                                         "PYTHONDONTWRITEBYTECODE": "1"}, **extra)
    await ctx.__aenter__()
    try:
        assert client.kc is not None
        await client.async_wait_for_reply(await _ensure(client.kc.kernel_info()))
        parts["kernel start"] = time.perf_counter() - t0
        kinds = ["setup"] + ["answer"] * sum(c.source.startswith("%%answer") for c in nb.cells) + ["start"]
        for index, cell in enumerate(nb.cells):
            kind = kinds[index] if index < len(kinds) else "tests"
            ts = time.perf_counter()
            await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            parts[kind] = parts.get(kind, 0.0) + time.perf_counter() - ts
    finally:
        t2 = time.perf_counter()
        await ctx.__aexit__(None, None, None)
    t3 = time.perf_counter()
    parts["kernel stop"] = t3 - t2
    parts["total"] = t3 - t0
    verdicts: dict[str, str] = {}
    for cell in nb.cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            if any(o.output_type == "error" for o in cell.outputs):
                verdicts[grade_id] = "failed"      # nbgrader: an error output scores the cell 0
            elif f"SKIPPED {grade_id}" in text:
                verdicts[grade_id] = "skipped"
            else:
                verdicts[grade_id] = "passed"
        elif text.startswith("CALLS "):
            parts["calls"] = float(text.split()[1])
            parts["in calls"] = float(text.split()[2])
    return verdicts, parts


async def _ensure(x: Any) -> Any:
    return await x if asyncio.iscoroutine(x) else x


def nbformat_error(content: dict) -> Any:
    from nbformat import NotebookNode
    return NotebookNode(output_type="error", ename=content.get("ename", ""), evalue=content.get("evalue", ""),
                        traceback=content.get("traceback") or ["ERROR: no traceback"])


def grade_with_notebooks(course: Course, sub: Submission, tests: dict[str, list[tuple[str, str, str]]],
                         nb_dir: Path, keep: bool) -> Graded:
    import nbformat

    result = Graded(0.0)
    for module in course.modules:
        if module.id not in tests:
            continue
        nb = build_notebook(course, sub, module.id, tests[module.id])
        verdicts, parts = asyncio.run(run_notebook(nb, sub.folder / module.id, course.call_timeout))
        result.outcome.update(verdicts)
        result.seconds += parts.pop("total")
        for k, v in parts.items():
            result.parts[k] = result.parts.get(k, 0.0) + v
        if keep:
            (nb_dir / sub.name).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, nb_dir / sub.name / f"{module.id}.ipynb")
    return result


def task_scores(course: Course, outcome: dict[str, str], tests: dict[str, list[tuple[str, str, str]]]) -> dict[str, float]:
    """coursekit's scoring rule (reports.py) applied to per-test verdicts: a task earns
    points x passed / counted; a skipped test counts neither way."""
    out = {}
    for module_id, items in tests.items():
        for task in course.module(module_id).tasks:
            verdicts = [outcome.get(nodeid, "failed") for nodeid, t, _ in items if t == task.id]
            counted = [v for v in verdicts if v != "skipped"]
            passed = sum(v == "passed" for v in counted)
            out[task.id] = round(task.points * passed / len(counted), 2) if counted else 0.0
    return out


# ---------------------------------------------------------------------------- coursekit side

def grade_cmd(subs: list[Submission], out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "coursekit", "grade", *(str(s.folder) for s in subs),
            "--out", str(out), "--jobs", str(jobs)]


def read_results(sub: Submission, out: Path) -> Graded:
    path = out / sub.name / "results.json"
    if not path.is_file():
        raise SystemExit(f"grade_speed: {path} was not written; see {out}")
    data = json.loads(path.read_text(encoding="utf-8"))
    g = Graded(float(data.get("execution_time", float("nan"))))
    g.sandboxed = (data.get("extra_data") or {}).get("sandboxed")
    for t in data.get("tests", []):
        g.scores[str(t.get("number") or t["name"].split()[0])] = float(t.get("score", 0.0))
        # feedback lines "- ✓ name" / "- ✗ name": kept to name a disagreement's tests
        for line in str(t.get("output", "")).splitlines():
            if line.startswith(("- ✓ ", "- ✗ ")):
                g.outcome.setdefault(f"{t.get('number')}|{line[4:]}", "")
                g.outcome[f"{t.get('number')}|{line[4:]}"] += "P" if line[2] == "✓" else "F"
    return g


def run_grade(cmd: list[str], log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "ab") as f:
        subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------- per-call overhead

def per_call_overhead(course: Course, work: Path, calls: int) -> dict[str, Any]:
    """Trivial calls through the runner: the sandbox's forked child, the plain Launcher's
    cold child, a bare `python -I -c pass`, and the notebook side's in-process call."""
    from coursekit.runner import Impl, Launcher

    def timed(fn: Any, n: int, warm: int = 3) -> list[float]:
        for _ in range(warm):
            fn()
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out

    res: dict[str, Any] = {}
    plain_dir = work / "overhead" / "plain"
    shutil.copytree(course.root / "solutions" / "00_start_here", plain_dir / "00_start_here")
    plain = Impl(plain_dir / "00_start_here", "warmup", launcher=Launcher())
    res["plain Launcher: cold `python -I` child"] = timed(lambda: plain.call("split_evenly", [1, 2, 3], 2), max(20, calls // 4))
    bare = [sys.executable, "-I", "-c", "pass"]
    res["bare `python -I -c pass`"] = timed(lambda: subprocess.run(bare, check=True), max(20, calls // 4))
    sys.path.insert(0, str(BENCH))
    import _nb_kernel
    inproc = _nb_kernel._make_impl_class()(plain_dir / "00_start_here", "warmup")
    res["in-process call (notebook side)"] = timed(lambda: inproc.call("split_evenly", [1, 2, 3], 2), calls)
    try:
        from coursekit.sandbox import Sandbox
    except ImportError as exc:
        res["sandbox_error"] = f"no coursekit.sandbox.Sandbox ({exc})"
        return res
    sb_dir = work / "overhead" / "sandboxed"
    shutil.copytree(course.root / "solutions" / "00_start_here", sb_dir / "00_start_here")
    starts = []
    for _ in range(5):
        t0 = time.perf_counter()
        sb = Sandbox(sb_dir)
        sb.start()
        starts.append(time.perf_counter() - t0)
        sb.close()
    res["sandbox start (bwrap + warm template), per submission"] = starts
    with Sandbox(sb_dir) as sb:
        res["isolated"] = sb.isolated
        impl = Impl(sb_dir / "00_start_here", "warmup", launcher=sb.launcher())
        res["sandbox: child forked from the warm template"] = timed(
            lambda: impl.call("split_evenly", [1, 2, 3], 2), calls, warm=5)
    return res


def profile_coursekit(course: Course, work: Path) -> dict[str, dict[str, float]]:
    """Where coursekit's time goes: grading.grade() (what each grader worker runs) called in
    this process on one solutions copy and one stubs copy, with timers around the sandbox's
    start and close, every runner call and every pytest test. Of three runs (the first one
    warms up), the fastest counts: a profile is about the work, not the machine's load."""
    import _pytest.runner as pyrunner

    from coursekit import grading, runner, sandbox

    acc: dict[str, float] = {}

    def timer(owner: Any, name: str, key: str, count: str = "") -> Any:
        orig = getattr(owner, name)

        def wrapped(*a: Any, **k: Any) -> Any:
            # hidden from pytest's failure reports: else each would parse this file's source
            __tracebackhide__ = True
            t0 = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                acc[key] = acc.get(key, 0.0) + time.perf_counter() - t0
                if count:
                    acc[count] = acc.get(count, 0.0) + 1
        setattr(owner, name, wrapped)
        return orig

    saved = [(sandbox.Sandbox, "start", timer(sandbox.Sandbox, "start", "sandbox start")),
             (sandbox.Sandbox, "close", timer(sandbox.Sandbox, "close", "sandbox stop")),
             (runner, "run_child", timer(runner, "run_child", "in calls", "calls")),
             (pyrunner, "runtestprotocol", timer(pyrunner, "runtestprotocol", "tests", "items"))]
    out: dict[str, dict[str, float]] = {}
    try:
        for kind, src in (("solutions", course.root / "solutions"), ("stubs", course.root / "exercises")):
            for rep in range(3):
                d = work / f"{kind}-{rep}"
                for module in course.modules:
                    if (src / module.id).is_dir():
                        shutil.copytree(src / module.id, d / module.id,
                                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                acc.clear()
                t0 = time.perf_counter()
                grading.grade(course, d, work / f"{kind}-{rep}.jsonl")
                acc["total"] = time.perf_counter() - t0
                if rep and (kind not in out or acc["total"] < out[kind]["total"]):
                    out[kind] = dict(acc)
    finally:
        for owner, name, orig in saved:
            setattr(owner, name, orig)
    return out


# ---------------------------------------------------------------------------- report

def row(label: str, values: dict[str, list[float]], unit: float = 1.0, fmt: str = "{:7.3f}") -> str:
    cells = []
    for kind in ("solutions", "stubs", "all"):
        xs = values.get(kind, [])
        cells.append(f"{fmt.format(pct(xs, 50) * unit)} {fmt.format(pct(xs, 95) * unit)}" if xs else " " * 15)
    return f"{label:44} " + "   ".join(cells)


def by_kind(subs: list[Submission], times: dict[str, float]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"solutions": [], "stubs": [], "all": []}
    for s in subs:
        if s.name in times:
            out[s.kind].append(times[s.name])
            out["all"].append(times[s.name])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="copies of solutions/ and of exercises/ (default 5)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="submissions graded at once, both ways (default 1: per-submission times are sequential)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (notebooks, outputs) and say where")
    parser.add_argument("--calls", type=int, default=200, help="trivial calls timed per launcher (default 200)")
    parser.add_argument("--busy", type=int, default=0,
                        help="start this many busy-looping processes for the whole run (a loaded machine)")
    parser.add_argument("--profile-into", type=Path, help=argparse.SUPPRESS)   # the bench's own child
    args = parser.parse_args()

    course = load_course(ROOT)
    if args.profile_into:
        print(json.dumps(profile_coursekit(course, args.profile_into)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="grade_speed-"))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        return _run(args, course, work)
    finally:
        for p in busy:
            p.kill()
            p.wait()
        if args.keep:
            say(f"grade_speed: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, course: Course, work: Path) -> int:
    global KERNEL_LOG
    KERNEL_LOG = open(work / "kernels.log", "ab")
    load_start = os.getloadavg()[0]
    tests = collect_tests(course)
    made = make_submissions(course, work, args.n)
    subs = [s for pair in zip(made[:args.n], made[args.n:]) for s in pair]   # sol-01, stub-01, sol-02 ...
    n_tests = sum(len(v) for v in tests.values())
    say(f"grade_speed: {len(subs)} submissions ({args.n} solutions, {args.n} stubs), {len(tests)} lessons, "
        f"{n_tests} graded tests, jobs={args.jobs}, busy={args.busy}, work folder {work}")

    # warm-up, untimed: both ways' files are in the page cache before either is timed
    say("warm-up ...")
    grade_with_notebooks(course, subs[0], {k: v for k, v in list(tests.items())[:1]}, work / "nb", False)
    run_grade(grade_cmd(subs[:1], work / "out-warmup", 1), work / "grade.log")

    # With --jobs 1 each submission is graded by a notebook run and then by its own coursekit
    # invocation, one after the other, so that a change in the machine's load hits both ways
    # alike; the batch invocation follows. With --jobs J the notebooks run J at a time first.
    nb: dict[str, Graded] = {}
    own: dict[str, float] = {}
    ck_own: dict[str, Graded] = {}

    def own_invocation(s: Submission) -> None:
        own[s.name] = run_grade(grade_cmd([s], work / "out-single", 1), work / "grade.log")
        ck_own[s.name] = read_results(s, work / "out-single")

    t0 = time.perf_counter()
    if args.jobs == 1:
        say("each submission: notebooks (nbclient, a kernel per lesson), then its own coursekit grade ...")
        for s in subs:
            nb[s.name] = grade_with_notebooks(course, s, tests, work / "notebooks", args.keep)
            own_invocation(s)
            say(f"  {s.name}: notebooks {nb[s.name].seconds:.2f} s, coursekit {own[s.name]:.2f} s")
    else:
        say(f"notebooks (nbclient, a kernel per lesson), {args.jobs} submissions at a time ...")
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(grade_with_notebooks, course, s, tests, work / "notebooks", args.keep): s
                       for s in subs}
            for fut in concurrent.futures.as_completed(futures):
                nb[futures[fut].name] = fut.result()
    nb_wall = time.perf_counter() - t0 - sum(own.values())
    for s in subs:
        nb[s.name].scores = task_scores(course, nb[s.name].outcome, tests)

    say("coursekit grade, one invocation for every submission ...")
    batch_wall = run_grade(grade_cmd(subs, work / "out-batch", args.jobs), work / "grade.log")
    ck = {s.name: read_results(s, work / "out-batch") for s in subs}
    if args.jobs != 1:
        say("coursekit grade, one invocation per submission ...")
        for s in subs:
            own_invocation(s)

    say("per-call overhead ...")
    oh = per_call_overhead(course, work, args.calls)
    say("where coursekit's time goes (grading.grade profiled in a fresh process) ...")
    # a fresh process, like the grader's worker (a fork of a CLI that has only loaded pytest):
    # in this one, the notebooks' leftovers make every garbage collection slower
    (work / "profile").mkdir()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--profile-into", str(work / "profile")],
                          capture_output=True, text=True, cwd=ROOT)
    try:
        prof = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        prof = {}
        say("  not profiled: " + ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1])

    # ------------------------------------------------------------------ the table
    nb_t = by_kind(subs, {k: v.seconds for k, v in nb.items()})
    ck_t = by_kind(subs, {k: v.seconds for k, v in ck.items()})
    own_t = by_kind(subs, own)
    cores = os.cpu_count()
    load_end = os.getloadavg()[0]
    print(f"\ngrade_speed: {args.n} solutions + {args.n} stubs, {len(tests)} lessons, {n_tests} graded tests; "
          f"jobs={args.jobs}; {cores} cores; busy loops: {args.busy}; Python {sys.version.split()[0]}; "
          f"graded in bubblewrap: {sorted({str(g.sandboxed) for g in [*ck.values(), *ck_own.values()]})}; "
          f"load average {load_start:.1f} at start, {load_end:.1f} at end")
    if max(load_start, load_end) > args.busy + 0.75 * (cores or 1):
        print("  NOTE: other processes were busy on this machine during the run; its times are inflated and noisy")
    print(f"\n{'seconds per submission':44} {'solutions p50/p95':>15}   {'stubs p50/p95':>15}   {'all p50/p95':>15}")
    print(row("notebooks: nbclient, kernel per lesson", nb_t))
    print(row("coursekit: results.json execution_time", ck_t))
    print(row("coursekit: own invocation, wall clock", own_t))
    print(f"{'coursekit: one batch invocation, wall / 2N':44} {batch_wall / len(subs):7.3f}   "
          f"(notebooks, same jobs: {nb_wall / len(subs):.3f})")
    ratios = {}
    for label, t in (("execution_time", ck_t), ("own wall clock", own_t)):
        cells = []
        for kind in ("solutions", "stubs", "all"):
            r50 = pct(nb_t[kind], 50) / pct(t[kind], 50)
            r95 = pct(nb_t[kind], 95) / pct(t[kind], 95)
            cells.append(f"{r50:6.1f}x {r95:6.1f}x")
            ratios[(label, kind)] = r50
        print(f"{'speedup, notebooks / coursekit ' + label:44} " + "   ".join(cells))
    # The learner's code and the scenarios, timed inside the kernel's calls, where a call has
    # no overhead at all: any grader running the same tests must spend at least this, so
    # notebooks / this is the most any grader could gain on this course's tests.
    ceil_t = by_kind(subs, {s.name: nb[s.name].parts.get("in calls", 0.0) for s in subs})
    print(f"{'ceiling: notebooks / time inside calls':44} " + "   ".join(
        f"{pct(nb_t[k], 50) / pct(ceil_t[k], 50):6.1f}x {pct(nb_t[k], 95) / pct(ceil_t[k], 95):6.1f}x"
        for k in ("solutions", "stubs", "all")))

    print(f"\n{'per test call (trivial call, ms)':44} {'p50':>7} {'p95':>7}  {'n':>4}")
    keys = ["sandbox: child forked from the warm template", "plain Launcher: cold `python -I` child",
            "bare `python -I -c pass`", "in-process call (notebook side)",
            "sandbox start (bwrap + warm template), per submission"]
    for k in keys:
        if k in oh:
            xs = oh[k]
            print(f"{k:44} {pct(xs, 50) * 1e3:7.2f} {pct(xs, 95) * 1e3:7.2f}  {len(xs):4d}")
    if "sandbox_error" in oh:
        print(f"  sandbox not measured: {oh['sandbox_error']}")
    elif not oh.get("isolated"):
        print("  NOTE: the sandbox measured here ran without bubblewrap (not available)")
    sb = oh.get("sandbox: child forked from the warm template", [])
    cold = oh["plain Launcher: cold `python -I` child"]
    if sb:
        print(f"{'ratio: sandbox call / plain cold call':44} {pct(sb, 50) / pct(cold, 50):7.2f}x "
              f"(p95 {pct(sb, 95) / pct(cold, 95):.2f}x); sandbox call / bare python start "
              f"{pct(sb, 50) / pct(oh['bare `python -I -c pass`'], 50):.2f}x")

    # ------------------------------------------------------------------ where the time goes
    floor = pct(sb, 50) if sb else 0.0
    starts = oh.get("sandbox start (bwrap + warm template), per submission", [float("nan")])
    kinds = ("solutions", "stubs")
    nbp = {}
    for kind in kinds:
        names = [s.name for s in subs if s.kind == kind]
        part_names = set().union(*(nb[n].parts for n in names))
        nbp[kind] = {k: statistics.mean(nb[n].parts.get(k, 0.0) for n in names) for k in part_names}
        nbp[kind]["total"] = statistics.mean(nb[n].seconds for n in names)
        nbp[kind]["cli"] = statistics.mean(own[n] - ck_own[n].seconds for n in names)
        nbp[kind]["exec"] = statistics.mean(ck[n].seconds for n in names)

    def two(f: Any) -> str:
        try:
            return " / ".join(f"{f(k):5.2f}" for k in kinds)
        except (KeyError, ZeroDivisionError):
            return "  n/a"

    def nbv(key: str) -> Any:
        return lambda k: nbp[k].get(key, 0.0)

    def ckv(key: str) -> Any:
        return lambda k: prof[k].get(key, 0.0)

    rows = [
        ("start-up: kernel start | sandbox start", two(nbv("kernel start")), two(ckv("sandbox start"))),
        ("pytest: import, configure, collect, finish", two(lambda k: nbp[k].get("start", 0) + nbp[k].get("setup", 0)),
         two(lambda k: prof[k]["total"] - prof[k].get("sandbox start", 0) - prof[k].get("sandbox stop", 0)
             - prof[k].get("tests", 0))),
        ("  | learner's files run as answer cells", two(nbv("answer")), "    -"),
        ("learner's code + scenarios, inside calls",
         two(nbv("in calls")), two(lambda k: prof[k].get("in calls", 0) - prof[k].get("calls", 0) * floor)),
        ("per-call overhead: calls x trivial call", two(lambda k: 0.0),
         two(lambda k: prof[k].get("calls", 0) * floor)),
        ("per test: pytest report, cell, traceback",
         two(lambda k: nbp[k].get("tests", 0) - nbp[k].get("in calls", 0)),
         two(lambda k: prof[k].get("tests", 0) - prof[k].get("in calls", 0))),
        ("shutdown: kernel stop | sandbox close", two(nbv("kernel stop")), two(ckv("sandbox stop"))),
        ("= total: kernels | grading.grade() profiled", two(nbv("total")), two(ckv("total"))),
        ("  (coursekit execution_time, real workers)", "", two(nbv("exec"))),
        ("  (coursekit CLI start, not in either total)", "", two(nbv("cli"))),
    ]
    calls_nb = " / ".join(f"{nbp[k].get('calls', 0):.0f}" for k in kinds)
    calls_ck = " / ".join(f"{prof[k].get('calls', 0):.0f}" for k in kinds) if prof else "n/a"
    print(f"\nwhere the time goes, s per submission (solutions / stubs; calls {calls_nb} | {calls_ck}; "
          f"per-call floor {floor * 1e3:.1f} ms; sandbox start alone {pct(starts, 50):.3f} s)")
    print(f"{'':44} {'notebooks':>13}   {'coursekit':>13}")
    for label, a, b in rows:
        if b and not prof and "profiled" not in label and "execution_time" not in label and "CLI" not in label:
            b = "  n/a"
        print(f"{label:44} {a:>13}   {b:>13}")

    # ------------------------------------------------------------------ agreement
    print("\nscores, per task (notebook baseline vs coursekit results.json; batch and own-invocation runs):")
    disagree = 0
    for s in subs:
        bad = False
        for label, other in (("batch", ck[s.name]), ("own", ck_own[s.name])):
            diffs = [f"{t}: notebook {nb[s.name].scores.get(t)} vs coursekit {other.scores.get(t)}"
                     for t in sorted(set(nb[s.name].scores) | set(other.scores))
                     if abs(nb[s.name].scores.get(t, 0.0) - other.scores.get(t, 0.0)) > 1e-6]
            if diffs:
                bad = True
                failed_nb = [nid for nid, v in nb[s.name].outcome.items() if v == "failed"]
                print(f"  DISAGREE {s.name} ({label}): " + "; ".join(diffs))
                print(f"           notebook failed tests: {', '.join(failed_nb) or 'none'}")
                print("           coursekit failed tests: " + ", ".join(
                    f"{k}={v}" for k, v in other.outcome.items() if "F" in v))
        disagree += bad
    totals = {s.name: (sum(nb[s.name].scores.values()), sum(ck[s.name].scores.values())) for s in subs}
    print(f"  {len(subs) - disagree} of {len(subs)} submissions agree: "
          + ("every task's score is the same in both coursekit runs" if not disagree
             else f"{disagree} submission(s) disagree, above")
          + "; totals (notebook/coursekit): "
          + ", ".join(f"{k} {a:g}/{b:g}" for k, (a, b) in totals.items()))

    # ------------------------------------------------------------------ goals
    print("\ngoals:")
    for label in ("execution_time", "own wall clock"):
        r = ratios[(label, "all")]
        print(f"  {'PASS' if r >= SPEEDUP_GOAL else 'FAIL'}  >= {SPEEDUP_GOAL:g}x faster per submission (p50, all; "
              f"coursekit {label}): {r:.1f}x")
    if sb:
        m = pct(sb, 50) * 1e3
        print(f"  {'PASS' if m < OVERHEAD_GOAL_MS else 'FAIL'}  sandbox overhead per test call < {OVERHEAD_GOAL_MS:g} ms "
              f"(median): {m:.2f} ms")
    else:
        print("  n/a   sandbox overhead per test call: no sandbox to measure")
    print(f"  {'PASS' if not disagree else 'FAIL'}  both ways give the same score for every task of every submission")
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
