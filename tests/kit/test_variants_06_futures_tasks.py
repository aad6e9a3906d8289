"""Lesson 06's graded tests against other solutions than the reference (tests/kit/variants_06_futures_tasks.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_06_futures_tasks import SLOW, VARIANTS  # noqa: E402

TASK = {"mini_future.py": "06.1", "mini_task.py": "06.2", "bounded_crawler.py": "06.3"}
grades, test_variant_gets_the_right_grade = variant_suite("06_futures_tasks", TASK, VARIANTS, SLOW)
