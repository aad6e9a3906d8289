"""Lesson 12's graded tests (12.1-12.7) against other solutions than the reference
(tests/kit/variants_12_coroutine_models.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_12_coroutine_models import SLOW, VARIANTS  # noqa: E402

TASK = {"reduction_scheduler.py": "12.1", "poll_executor.py": "12.2", "runtime_axes.py": "12.3",
        "fib_threads.py": "12.4", "fib_pool.py": "12.5", "fib_loop.py": "12.6", "fib_asyncio.py": "12.7"}
grades, test_variant_gets_the_right_grade = variant_suite("12_coroutine_models", TASK, VARIANTS, SLOW)
