"""How fast does check() answer? Prints medians measured in this one run.

    .venv/bin/python bench/check_speed.py [--repeat 15]

Goal (issue: course foundation): a median of at most 0.5 s for check() on a task whose tests
are quick, as a learner runs it in the notebook's kernel (warm: pytest already imported).
Also printed: the same check from a cold terminal (python -m coursekit check), and the
runner's cost per call (one fresh child process per call), all against solutions/ (every
test runs to the end) and exercises/ (the stubs fail fast).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from coursekit.checking import run_check  # noqa: E402
from coursekit.manifest import load_course  # noqa: E402
from coursekit.runner import Impl  # noqa: E402

GOAL = 0.5


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    course = load_course(ROOT)
    rows = []
    for task in ("00.1", "01.2"):
        n_tests = None
        for target in ("solutions", "exercises"):
            def once(task=task, target=target):
                nonlocal n_tests
                [result] = run_check([task], course, target)
                n_tests = len(result.lines)
            once()  # warm-up: the kernel has imported pytest before a learner's first check
            warm = statistics.median(timed(once, args.repeat))
            cmd = [sys.executable, "-m", "coursekit", "check", task, "--target", target]
            cold = statistics.median(timed(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True), max(3, args.repeat // 3)))
            rows.append((task, target, n_tests, warm, cold))
    impl = Impl(ROOT / "solutions" / "00_start_here", "warmup")
    per_call = statistics.median(timed(lambda: impl.call("split_evenly", [1, 2, 3], 2), args.repeat * 2))
    python_start = statistics.median(timed(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"]), args.repeat))

    print(f"{'task':6} {'target':10} {'tests':>5} {'check() warm':>13} {'CLI cold':>9} {'warm / goal':>12}")
    for task, target, n, warm, cold in rows:
        print(f"{task:6} {target:10} {n:5d} {warm:12.3f}s {cold:8.3f}s {warm / GOAL:11.2f}x")
    print(f"runner: {per_call * 1000:.1f} ms per call (median); a bare `python -I -c pass`: "
          f"{python_start * 1000:.1f} ms; overhead ratio {per_call / python_start:.2f}x")
    worst = max(r[3] for r in rows)
    print(f"worst warm check() median {worst:.3f}s vs goal {GOAL}s: {'OK' if worst <= GOAL else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
