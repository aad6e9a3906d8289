"""Lesson 07's graded tests against other solutions than the reference (tests/kit/variants_07_real_asyncio.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_07_real_asyncio import SLOW, VARIANTS  # noqa: E402

TASK = {"bounded_gather.py": "07.1", "async_transfer.py": "07.2", "deadline.py": "07.3"}
grades, test_variant_gets_the_right_grade = variant_suite("07_real_asyncio", TASK, VARIANTS, SLOW)
