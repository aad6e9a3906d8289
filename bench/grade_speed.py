"""How fast does the sandboxed grader grade, against the floor and notebook autograding?

    .venv/bin/python bench/grade_speed.py [--n 3] [--jobs 1] [--keep] [--calls 200] [--busy 0]

Goals (issue 8, "grading speed, restated"), per kind of submission (solutions, stubs):
the grader's time divided by the floor's at most 1.3, and ahead of notebook grading; and
(the sandboxed-grader issue) the sandbox's overhead per test call under 10 ms (median).

In one run it grades N copies of solutions/ and N copies of exercises/ (the stubs) every way:

* coursekit: ``python -m coursekit grade SUBMISSION --out DIR`` once per submission
  (results.json's ``execution_time``, and the invocation's wall clock), then once for all 2N;
* the floor (bench/_floor.py): the grader's own ``grading.grade()`` - the same tests,
  pytest arguments and scoring - with every call of the learner's code run in the pytest
  process through an in-process launcher in the runner's hook (no child, no sandbox), the
  call's deadline still the runner's; in a fresh process per submission;
* ``grading.grade()`` in the sandbox, in a fresh process with the floor's timers: where the
  grader's time goes, part by part, next to the floor's;
* notebooks, as nbgrader and otter autograde: per submission and lesson, one notebook - a
  setup cell, the learner's files as answer cells, one autograder test cell per graded test,
  the tests running in the kernel against the learner's code loaded there - executed by
  nbclient in a fresh kernel with nbgrader's Execute settings (per-cell timeout = the
  course's call_timeout; a timed-out cell scores 0). Kernel start to stop, summed per
  submission.

Then the per-call overhead (a trivial call through the sandbox's forked child and its round
trips, the floor's in-process launcher, the plain Launcher's cold child, a bare ``python -I
-c pass``, the notebook's in-process call), where each way's time goes, and whether every way
gives every task the same score (they must: a difference means they did not do the same
work). bench/README.md explains the design and how to read the table.
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

FLOOR_GOAL = 1.3         # coursekit execution_time p50 / floor p50, per kind of submission
OVERHEAD_GOAL_MS = 10.0  # median per-call overhead of the sandbox's forked child
# nbclient's default (and nbgrader's) is "graceful": ask the kernel to exit and wait for it.
# "immediate" kills it once the last cell has replied: the same verdicts, faster - generous to
# the baseline (measured here: graceful costs 0.3-0.4 s more per notebook, 2.5 s more once the
# tests have used a multiprocessing pool)
KERNEL_SHUTDOWN = "immediate"
KERNEL_LOG: Any = None   # where the kernels' stderr goes (their start-up warnings)
# Sessions and the CPU: with the kernel's autogroup scheduling (/proc/sys/kernel/
# sched_autogroup_enabled, on in most distributions' kernels), CPU time is shared out between
# sessions first, then between the processes of a session. The grader's every call runs in a
# session of its own (the child's setsid()), and so does each notebook's kernel (jupyter_client
# starts it with start_new_session); so the floor's process and the busy loops get one each
# too. Else, with --busy, the floor would share one session's CPU with the busy loops while
# the sandbox's children had a session to themselves: measured here, a CPU-bound call ran
# 1.4x slower in-process than in the sandbox for that reason alone.
# Every process the bench starts (the grader's CLI, the kernels, the floor) imports coursekit
# from this checkout, whatever the environment's editable install points at (a venv shared
# by several checkouts may point at another one's src/).
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}


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
    per_test: dict[str, float] = field(default_factory=dict)  # test nodeid -> seconds (the floor's timers)


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
    ctx = client.async_setup_kernel(env={**ENV, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
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
        subprocess.run(cmd, cwd=ROOT, env=ENV, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       check=False)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------- the floor

def run_floor(mode: str, sub: Submission, work: Path) -> Graded:
    """grading.grade() on one submission in a fresh process (bench/_floor.py): "inprocess"
    is the floor (every call in the pytest process), "sandbox" the grader's own grade(), both
    with the same timers. seconds = grade()'s time; parts["wall"] = the process's."""
    out = work / f"{mode}-{sub.name}.json"
    (work / "floor-sub").mkdir(exist_ok=True)
    # a copy per run: the in-process floor imports the learner's modules from it (and so may
    # write their bytecode there), the sandbox binds it read-only
    folder = work / "floor-sub" / f"{mode}-{sub.name}"
    shutil.copytree(sub.folder, folder)
    t0 = time.perf_counter()
    with open(work / "floor.log", "ab") as log:
        done = subprocess.run([sys.executable, str(BENCH / "_floor.py"), mode, str(folder), str(out)],
                              cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              check=False, start_new_session=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0 or not out.is_file():
        raise SystemExit(f"grade_speed: bench/_floor.py {mode} failed on {sub.name} (status {done.returncode}); "
                         f"see {work / 'floor.log'}")
    data = json.loads(out.read_text(encoding="utf-8"))
    g = Graded(data["parts"]["total"], scores=data["scores"], sandboxed=data.get("isolated"))
    # the process's wall clock without the trivial calls it timed after grading
    g.parts = {**data["parts"], "wall": wall - data["parts"].get("trivial time", 0.0), "import": data["import"]}
    g.outcome = {nodeid: "failed" for nodeid in data["failed"]}
    g.per_test = data.get("per_test", {})
    return g


# ---------------------------------------------------------------------------- per-call overhead

def per_call_overhead(course: Course, work: Path, calls: int) -> dict[str, Any]:
    """Trivial calls through the runner: the sandbox's forked child (and its parts: the
    template's fork and kill round trips), the floor's in-process launcher, the plain
    Launcher's cold child, a bare `python -I -c pass`, and the notebook side's call."""
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
    import _floor
    import _nb_kernel
    inproc = _nb_kernel._make_impl_class()(plain_dir / "00_start_here", "warmup")
    res["in-process call (notebook side)"] = timed(lambda: inproc.call("split_evenly", [1, 2, 3], 2), calls)
    floor = Impl(plain_dir / "00_start_here", "warmup", launcher=_floor.NoSandbox(plain_dir).launcher())
    res["floor: in-process launcher (thread, pipes, JSON)"] = timed(
        lambda: floor.call("split_evenly", [1, 2, 3], 2), calls)
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
    trips: dict[str, list[float]] = {}
    orig = getattr(Sandbox, "request", None)

    def request(self: Any, message: dict, *a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return orig(self, message, *a, **k)   # type: ignore[misc]
        finally:
            trips.setdefault(str(message.get("op")), []).append(time.perf_counter() - t0)
    try:
        with Sandbox(sb_dir) as sb:
            res["isolated"] = sb.isolated
            impl = Impl(sb_dir / "00_start_here", "warmup", launcher=sb.launcher())
            if orig is not None:
                Sandbox.request = request   # type: ignore[method-assign]
            res["sandbox: child forked from the warm template"] = timed(
                lambda: impl.call("split_evenly", [1, 2, 3], 2), calls, warm=5)
    finally:
        if orig is not None:
            Sandbox.request = orig   # type: ignore[method-assign]
    n = len(res["sandbox: child forked from the warm template"])
    for op, label in (("start", "  of which: template forks the child (round trip)"),
                      ("kill", "  of which: template kills, reaps, wipes /tmp (round trip)")):
        if len(trips.get(op, [])) >= n:
            res[label] = trips[op][-n:]
    return res


# ---------------------------------------------------------------------------- report

def row(label: str, values: dict[str, list[float]], unit: float = 1.0, fmt: str = "{:7.3f}") -> str:
    cells = []
    for kind in ("solutions", "stubs", "all"):
        xs = values.get(kind, [])
        cells.append(f"{fmt.format(pct(xs, 50) * unit)} {fmt.format(pct(xs, 95) * unit)}" if xs else " " * 15)
    return f"{label:44} " + "   ".join(cells)


def ratio_row(label: str, num: dict[str, list[float]], den: dict[str, list[float]]) -> tuple[str, dict[str, float]]:
    """p50 / p50 and p95 / p95 per kind; returns the line and the p50 ratios."""
    cells, r50s = [], {}
    for kind in ("solutions", "stubs", "all"):
        r50 = pct(num[kind], 50) / pct(den[kind], 50) if den[kind] else float("nan")
        r95 = pct(num[kind], 95) / pct(den[kind], 95) if den[kind] else float("nan")
        r50s[kind] = r50
        cells.append(f"{r50:6.2f}x {r95:6.2f}x")
    return f"{label:44} " + "   ".join(cells), r50s


def paired_row(label: str, subs: list[Submission], num: dict[str, float], den: dict[str, float]
               ) -> tuple[str, dict[str, float]]:
    """Per submission num / den (graded one right after the other, so a change of load hits
    both), then per kind the median and the largest; returns the line and the medians."""
    ratios = by_kind(subs, {s.name: num[s.name] / den[s.name] for s in subs
                            if s.name in num and s.name in den and den[s.name] > 0})
    cells, medians = [], {}
    for kind in ("solutions", "stubs", "all"):
        xs = ratios[kind]
        medians[kind] = statistics.median(xs) if xs else float("nan")
        cells.append(f"{medians[kind]:6.2f}x {max(xs):6.2f}x" if xs else " " * 15)
    return f"{label:44} " + "   ".join(cells), medians


def by_kind(subs: list[Submission], times: dict[str, float]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"solutions": [], "stubs": [], "all": []}
    for s in subs:
        if s.name in times:
            out[s.kind].append(times[s.name])
            out["all"].append(times[s.name])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="copies of solutions/ and of exercises/ (default 3)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="submissions graded at once, every way (default 1: per-submission times are sequential)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (notebooks, outputs) and say where")
    parser.add_argument("--calls", type=int, default=200, help="trivial calls timed per launcher (default 200)")
    parser.add_argument("--busy", type=int, default=0,
                        help="start this many busy-looping processes for the whole run (a loaded machine)")
    args = parser.parse_args()
    for name in ("n", "jobs", "calls"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.busy < 0:
        parser.error("--busy must be 0 or more")

    course = load_course(ROOT)
    work = Path(tempfile.mkdtemp(prefix="grade_speed-"))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(args.busy)]
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


def _at_once(fn: Any, items: list[Submission], jobs: int) -> dict[str, Any]:
    """{name: fn(sub)} with `jobs` of them running at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(fn, s): s for s in items}
        return {futures[f].name: f.result() for f in concurrent.futures.as_completed(futures)}


def _run(args: argparse.Namespace, course: Course, work: Path) -> int:
    global KERNEL_LOG
    KERNEL_LOG = open(work / "kernels.log", "ab")
    load_start = os.getloadavg()
    tests = collect_tests(course)
    made = make_submissions(course, work, args.n)
    subs = [s for pair in zip(made[:args.n], made[args.n:]) for s in pair]   # sol-01, stub-01, sol-02 ...
    n_tests = sum(len(v) for v in tests.values())
    say(f"grade_speed: {len(subs)} submissions ({args.n} solutions, {args.n} stubs), {len(tests)} lessons, "
        f"{n_tests} graded tests, jobs={args.jobs}, busy={args.busy}, work folder {work}")

    # warm-up, untimed: every way's files are in the page cache before any is timed
    say("warm-up ...")
    grade_with_notebooks(course, subs[0], {k: v for k, v in list(tests.items())[:1]}, work / "nb", False)
    run_grade(grade_cmd(subs[:1], work / "out-warmup", 1), work / "grade.log")
    (work / "warmup").mkdir()
    run_floor("inprocess", subs[0], work / "warmup")

    # With --jobs 1 each submission is graded every way, one after the other (notebooks, its
    # own coursekit invocation, the floor, grade() profiled in the sandbox), so that a change in
    # the machine's load hits all alike; the batch invocation follows. With --jobs J each way
    # runs J submissions at a time, one way after the other.
    nb: dict[str, Graded] = {}
    own: dict[str, float] = {}
    ck_own: dict[str, Graded] = {}
    floor: dict[str, Graded] = {}
    prof: dict[str, Graded] = {}
    (work / "floor").mkdir()

    def own_invocation(s: Submission) -> None:
        out = work / "out-single" / s.name   # one folder each: with --jobs J they run J at a time
        own[s.name] = run_grade(grade_cmd([s], out, 1), work / "grade.log")
        ck_own[s.name] = read_results(s, out)

    t0 = time.perf_counter()
    if args.jobs == 1:
        say("each submission: notebooks, its own coursekit grade, the floor, grade() profiled in the sandbox ...")
        for s in subs:
            t_nb = time.perf_counter()
            nb[s.name] = grade_with_notebooks(course, s, tests, work / "notebooks", args.keep)
            nb[s.name].parts["wall"] = time.perf_counter() - t_nb
            own_invocation(s)
            floor[s.name] = run_floor("inprocess", s, work / "floor")
            prof[s.name] = run_floor("sandbox", s, work / "floor")
            say(f"  {s.name}: notebooks {nb[s.name].seconds:.2f} s, coursekit {ck_own[s.name].seconds:.2f} s "
                f"(own invocation {own[s.name]:.2f} s), floor {floor[s.name].seconds:.2f} s, "
                f"profiled grade() {prof[s.name].seconds:.2f} s; load {os.getloadavg()[0]:.1f}")
        nb_wall = sum(g.parts["wall"] for g in nb.values())
    else:
        say(f"notebooks (nbclient, a kernel per lesson), {args.jobs} submissions at a time ...")
        nb = _at_once(lambda s: grade_with_notebooks(course, s, tests, work / "notebooks", args.keep), subs, args.jobs)
        nb_wall = time.perf_counter() - t0
    for s in subs:
        nb[s.name].scores = task_scores(course, nb[s.name].outcome, tests)

    say("coursekit grade, one invocation for every submission ...")
    batch_wall = run_grade(grade_cmd(subs, work / "out-batch", args.jobs), work / "grade.log")
    ck = {s.name: read_results(s, work / "out-batch") for s in subs}
    if args.jobs != 1:
        say(f"coursekit grade, one invocation per submission, {args.jobs} at a time ...")
        _at_once(own_invocation, subs, args.jobs)
        say(f"the floor and grade() profiled, {args.jobs} submissions at a time ...")
        floor = _at_once(lambda s: run_floor("inprocess", s, work / "floor"), subs, args.jobs)
        prof = _at_once(lambda s: run_floor("sandbox", s, work / "floor"), subs, args.jobs)

    say("per-call overhead ...")
    oh = per_call_overhead(course, work, args.calls)
    load_end = os.getloadavg()
    report(args, course, subs, tests, nb, nb_wall, ck, ck_own, own, batch_wall, floor, prof, oh, load_start, load_end)
    agree = agreement(subs, nb, ck, ck_own, floor, prof)
    goals(subs, nb, ck_own, own, floor, oh, agree)
    return 0 if agree else 1   # a disagreement means the bench compares different work


def report(args: argparse.Namespace, course: Course, subs: list[Submission], tests: dict[str, Any],
           nb: dict[str, Graded], nb_wall: float, ck: dict[str, Graded], ck_own: dict[str, Graded],
           own: dict[str, float], batch_wall: float, floor: dict[str, Graded], prof: dict[str, Graded],
           oh: dict[str, Any], load_start: tuple[float, ...], load_end: tuple[float, ...]) -> None:
    n_tests = sum(len(v) for v in tests.values())
    nb_t = by_kind(subs, {k: v.seconds for k, v in nb.items()})
    ck_t = by_kind(subs, {k: v.seconds for k, v in ck_own.items()})
    batch_t = by_kind(subs, {k: v.seconds for k, v in ck.items()})
    own_t = by_kind(subs, own)
    fl_t = by_kind(subs, {k: v.seconds for k, v in floor.items()})
    fl_wall = by_kind(subs, {k: v.parts["wall"] for k, v in floor.items()})
    pr_t = by_kind(subs, {k: v.seconds for k, v in prof.items()})
    cores = os.cpu_count() or 1
    print(f"\ngrade_speed: {args.n} solutions + {args.n} stubs, {len(tests)} lessons, {n_tests} graded tests; "
          f"jobs={args.jobs}; {cores} cores; busy loops: {args.busy}; Python {sys.version.split()[0]}; "
          f"graded in bubblewrap: {sorted({str(g.sandboxed) for g in [*ck.values(), *ck_own.values()]})}")
    import coursekit
    print(f"  coursekit from {Path(coursekit.__file__).parent} (every process the bench starts uses it)")
    print("  load average (1, 5, 15 min): at start " + ", ".join(f"{x:.2f}" for x in load_start)
          + "; at end " + ", ".join(f"{x:.2f}" for x in load_end))
    if max(load_start[0], load_end[0]) > args.busy + 0.75 * cores:
        print("  NOTE: other processes were busy on this machine during the run; its times are inflated and noisy")
    print(f"\n{'seconds per submission':44} {'solutions p50/p95':>15}   {'stubs p50/p95':>15}   {'all p50/p95':>15}")
    print(row("notebooks: nbclient, kernel per lesson", nb_t))
    print(row("coursekit: execution_time (own invocation)", ck_t))
    print(row("coursekit: execution_time (batch)", batch_t))
    print(row("coursekit: own invocation, wall clock", own_t))
    print(row("floor: grade(), calls in-process", fl_t))
    print(row("floor: its own process, wall clock", fl_wall))
    print(row("grade() profiled in the sandbox", pr_t))
    print(f"{'coursekit: one batch invocation, wall / 2N':44} {batch_wall / len(subs):7.3f}   "
          f"(notebooks, same jobs: {nb_wall / len(subs):.3f})")

    print(f"\n{'ratios per submission, median and largest':44} {'solutions':>15}   {'stubs':>15}   {'all':>15}")
    for label, num, den in (
            ("grader / floor: execution_time / grade()", {k: g.seconds for k, g in ck_own.items()},
             {k: g.seconds for k, g in floor.items()}),
            ("grader / floor: wall clock / wall clock", own, {k: g.parts["wall"] for k, g in floor.items()}),
            ("grade(): sandboxed / in-process (profiled)", {k: g.seconds for k, g in prof.items()},
             {k: g.seconds for k, g in floor.items()})):
        print(paired_row(label, subs, num, den)[0])
    print(f"\n{'ratios of p50s and of p95s':44} {'solutions':>15}   {'stubs':>15}   {'all':>15}")
    for label, num, den in (
            ("grader / floor: execution_time / grade()", ck_t, fl_t),
            ("grader / floor: wall clock / wall clock", own_t, fl_wall),
            ("notebooks / floor", nb_t, fl_t),
            ("speedup, notebooks / coursekit exec_time", nb_t, ck_t),
            ("speedup, notebooks / coursekit wall clock", nb_t, own_t)):
        print(ratio_row(label, num, den)[0])
    # The learner's code and the scenarios, timed inside the kernel's calls, where a call has
    # no overhead at all: any grader running the same tests must spend at least this.
    ceil_t = by_kind(subs, {s.name: nb[s.name].parts.get("in calls", 0.0) for s in subs})
    print(ratio_row("ceiling: notebooks / time inside calls", nb_t, ceil_t)[0])

    print(f"\n{'per test call (trivial call, ms)':56} {'p50':>7} {'p95':>7}  {'n':>4}")
    keys = ["sandbox: child forked from the warm template",
            "  of which: template forks the child (round trip)",
            "  of which: template kills, reaps, wipes /tmp (round trip)",
            "floor: in-process launcher (thread, pipes, JSON)", "in-process call (notebook side)",
            "plain Launcher: cold `python -I` child", "bare `python -I -c pass`",
            "sandbox start (bwrap + warm template), per submission"]
    for k in keys:
        if k in oh:
            xs = oh[k]
            print(f"{k:56} {pct(xs, 50) * 1e3:7.2f} {pct(xs, 95) * 1e3:7.2f}  {len(xs):4d}")
    if "sandbox_error" in oh:
        print(f"  sandbox not measured: {oh['sandbox_error']}")
    elif not oh.get("isolated"):
        print("  NOTE: the sandbox measured here ran without bubblewrap (not available)")
    where(subs, nb, ck_own, own, floor, prof)


def where(subs: list[Submission], nb: dict[str, Graded], ck_own: dict[str, Graded], own: dict[str, float],
          floor: dict[str, Graded], prof: dict[str, Graded]) -> None:
    """Where each way's time goes, per kind of submission (means), and what the grader spends
    beyond the floor, row by row. coursekit's column is grade() profiled in the sandbox, the
    floor's grade() in-process; each run also timed a call that does nothing, after grading."""
    kinds = ("solutions", "stubs")

    def mean(ways: dict[str, Graded], kind: str, f: Any) -> float:
        xs = [f(ways[s.name]) for s in subs if s.kind == kind and s.name in ways]
        return statistics.mean(xs) if xs else float("nan")

    def part(key: str) -> Any:
        return lambda g: g.parts.get(key, 0.0)

    def rtrips(g: Graded) -> float:
        return sum(v for k, v in g.parts.items() if k.startswith("op "))

    def restarts(g: Graded) -> float:
        return g.parts.get("sandbox restart", 0.0)

    def in_child(g: Graded) -> float:
        return g.parts.get("in calls", 0) - rtrips(g) - restarts(g)

    def pytest_own(g: Graded) -> float:
        p = g.parts
        return p["total"] - p.get("tests", 0) - p.get("sandbox start", 0) - p.get("sandbox stop", 0)

    def trivial_child(g: Graded) -> float:
        # a call that does nothing, less the template's round trips: the child's fixed cost
        return g.parts.get("trivial call", 0) - sum(v for k, v in g.parts.items() if k.startswith("trivial op "))

    floor_trivial = {k: mean(floor, k, part("trivial call")) for k in kinds}
    for s in subs:
        if s.name in prof:
            g = prof[s.name]
            g.parts["child fixed"] = g.parts.get("calls", 0) * max(trivial_child(g) - floor_trivial[s.kind], 0.0)
    child_fixed = part("child fixed")

    zero = lambda g: 0.0  # noqa: E731
    rows: list[tuple[str, Any, Any, Any]] = [
        # label, notebooks, coursekit (grade() profiled in the sandbox), floor (in-process)
        ("start-up: kernel start | sandbox start", part("kernel start"), part("sandbox start"), zero),
        ("pytest: configure, collect, finish", lambda g: g.parts.get("start", 0) + g.parts.get("setup", 0),
         pytest_own, pytest_own),
        ("learner's files run as answer cells", part("answer"), zero, zero),
        ("calls: template round trips (fork; kill, wipe)", zero, rtrips, zero),
        ("calls: sandbox restarts", zero, restarts, zero),
        ("calls: in the child | in the kernel/thread", part("in calls"), in_child, part("in calls")),
        ("  of which fixed per call (an empty call's)", zero, child_fixed, zero),
        ("  of which the learner's code and the rest", zero, lambda g: in_child(g) - child_fixed(g),
         part("in calls")),
        ("per test: pytest, reports, cell", lambda g: g.parts.get("tests", 0) - g.parts.get("in calls", 0),
         lambda g: g.parts.get("tests", 0) - g.parts.get("in calls", 0),
         lambda g: g.parts.get("tests", 0) - g.parts.get("in calls", 0)),
        ("shutdown: kernel stop | sandbox close", part("kernel stop"), part("sandbox stop"), zero),
        ("= total: kernels | grade() profiled | floor", lambda g: g.seconds, lambda g: g.seconds, lambda g: g.seconds),
    ]

    def cell(ways: dict[str, Graded], f: Any) -> str:
        return " / ".join(f"{mean(ways, k, f):5.2f}" for k in kinds)

    def diff(fa: Any, fb: Any) -> str:
        return " / ".join(f"{mean(prof, k, fa) - mean(floor, k, fb):+5.2f}" for k in kinds)

    calls = " / ".join(f"{mean(prof, k, part('calls')):.0f}" for k in kinds)
    print(f"\nwhere the time goes, s per submission, mean (solutions / stubs; {calls} calls)")
    print("  a call that does nothing, timed in the same runs (ms, solutions / stubs): sandbox "
          + " / ".join(f"{mean(prof, k, part('trivial call')) * 1e3:.2f}" for k in kinds)
          + ", of it the template's round trips "
          + " / ".join(f"{mean(prof, k, lambda g: g.parts.get('trivial call', 0) - trivial_child(g)) * 1e3:.2f}"
                       for k in kinds)
          + "; floor " + " / ".join(f"{floor_trivial[k] * 1e3:.2f}" for k in kinds))
    print(f"{'':44} {'notebooks':>13}   {'coursekit':>13}   {'floor':>13}   {'coursekit-floor':>15}")
    for label, fn, fc, ff in rows:
        print(f"{label:44} {cell(nb, fn):>13}   {cell(prof, fc):>13}   {cell(floor, ff):>13}   {diff(fc, ff):>15}")
    # outside grade(): the real grader's worker and CLI, the floor's process
    ck_out = " / ".join(f"{mean(ck_own, k, lambda g: g.seconds) - mean(prof, k, lambda g: g.seconds):+5.2f}"
                        for k in kinds)
    cli = " / ".join(f"{statistics.mean(own[s.name] - ck_own[s.name].seconds for s in subs if s.kind == k):5.2f}"
                     for k in kinds)
    fl_out = " / ".join(f"{mean(floor, k, lambda g: g.parts['wall'] - g.seconds):5.2f}"
                        for k in kinds)
    print(f"{'execution_time - grade() profiled':44} {'':>13}   {ck_out:>13}")
    print(f"{'  (worker fork, submission copy; noise)':44}")
    print(f"{'process: start, imports (CLI: + reports)':44} {'':>13}   {cli:>13}   {fl_out:>13}")
    # the tests where the grader spends most beyond the floor
    for kind in kinds:
        names = [s.name for s in subs if s.kind == kind and s.name in prof and s.name in floor]
        if not names:
            continue
        ids = set.intersection(*(set(prof[n].per_test) & set(floor[n].per_test) for n in names))
        extra = {i: statistics.mean(prof[n].per_test[i] - floor[n].per_test[i] for n in names) for i in ids}
        top = sorted(extra, key=lambda i: -extra[i])[:5]
        print(f"  {kind}: most extra time per test (coursekit - floor, ms): "
              + "; ".join(f"{i.split('::')[-1]} {extra[i] * 1e3:+.0f}" for i in top))


def agreement(subs: list[Submission], nb: dict[str, Graded], ck: dict[str, Graded], ck_own: dict[str, Graded],
              floor: dict[str, Graded], prof: dict[str, Graded]) -> bool:
    print("\nscores, per task (the notebooks, the floor and grade() profiled vs coursekit's batch and own runs):")
    disagree = 0
    for s in subs:
        bad = False
        base = ck[s.name]
        for label, other in (("notebooks", nb[s.name]), ("own", ck_own[s.name]), ("floor", floor[s.name]),
                             ("profiled", prof[s.name])):
            diffs = [f"{t}: {label} {other.scores.get(t)} vs coursekit batch {base.scores.get(t)}"
                     for t in sorted(set(base.scores) | set(other.scores))
                     if abs(base.scores.get(t, 0.0) - other.scores.get(t, 0.0)) > 1e-6]
            if diffs:
                bad = True
                print(f"  DISAGREE {s.name} ({label}): " + "; ".join(diffs))
                print(f"           {label} failed tests: "
                      + (", ".join(k for k, v in other.outcome.items() if "F" in v or v == "failed") or "none"))
                print("           coursekit failed tests: " + ", ".join(
                    f"{k}={v}" for k, v in base.outcome.items() if "F" in v))
        disagree += bad
    totals = {s.name: (sum(nb[s.name].scores.values()), sum(ck[s.name].scores.values()),
                       sum(floor[s.name].scores.values())) for s in subs}
    print(f"  {len(subs) - disagree} of {len(subs)} submissions agree"
          + ("" if not disagree else f"; {disagree} disagree, above")
          + "; totals (notebooks/coursekit/floor): "
          + ", ".join(f"{k} {a:g}/{b:g}/{c:g}" for k, (a, b, c) in totals.items()))
    return not disagree


def goals(subs: list[Submission], nb: dict[str, Graded], ck_own: dict[str, Graded], own: dict[str, float],
          floor: dict[str, Graded], oh: dict[str, Any], agree: bool) -> None:
    ck_t = by_kind(subs, {k: v.seconds for k, v in ck_own.items()})
    fl_t = by_kind(subs, {k: v.seconds for k, v in floor.items()})
    print("\ngoals (ratios of times measured in this run):")
    _, r = paired_row("", subs, {k: g.seconds for k, g in ck_own.items()}, {k: g.seconds for k, g in floor.items()})
    _, r50 = ratio_row("", ck_t, fl_t)
    for kind in ("solutions", "stubs"):
        good = r[kind] <= FLOOR_GOAL
        print(f"  {'PASS' if good else 'FAIL'}  grader / floor <= {FLOOR_GOAL:g} for {kind} (execution_time / "
              f"in-process grade(), median per submission): {r[kind]:.2f} (p50 / p50: {r50[kind]:.2f})")
    nb_s = {k: g.seconds for k, g in nb.items()}
    _, s_exec = paired_row("", subs, nb_s, {k: g.seconds for k, g in ck_own.items()})
    _, s_wall = paired_row("", subs, nb_s, own)
    for kind in ("solutions", "stubs"):
        good = s_wall[kind] > 1.0
        print(f"  {'PASS' if good else 'FAIL'}  ahead of notebook grading for {kind}: notebooks / coursekit "
              f"{s_wall[kind]:.2f}x by its own invocation's wall clock ({s_exec[kind]:.2f}x by execution_time; "
              "median per submission)")
    sb = oh.get("sandbox: child forked from the warm template", [])
    if sb:
        m = pct(sb, 50) * 1e3
        good = m < OVERHEAD_GOAL_MS
        print(f"  {'PASS' if good else 'FAIL'}  sandbox overhead per test call < {OVERHEAD_GOAL_MS:g} ms "
              f"(median): {m:.2f} ms")
    else:
        print("  n/a   sandbox overhead per test call: no sandbox to measure")
    print(f"  {'PASS' if agree else 'FAIL'}  every way gives the same score for every task of every submission")


if __name__ == "__main__":
    sys.exit(main())
