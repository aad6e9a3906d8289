"""Lesson 11's graded tests against other solutions than the reference (tests/kit/variants_11_syscalls_preemption.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_11_syscalls_preemption import VARIANTS  # noqa: E402

TASK = {"sysmon_delays.py": "11.1", "retake.py": "11.2", "syscall_exit.py": "11.3"}
grades, test_variant_gets_the_right_grade = variant_suite("11_syscalls_preemption", TASK, VARIANTS)
