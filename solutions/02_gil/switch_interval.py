"""Task 02.2: change the switch interval for one block of code, and always put it back.

sys.setswitchinterval(s) sets how long a thread waiting for the GIL lets pass before it
asks the holder to drop it (5 ms by default; the `interval` of Python/ceval_gil.c). It is
one setting for the whole process, so code that changes it for an experiment must restore
it on every way out: a normal end, an exception, a nested change.

A trap, found by reading Python/sysmodule.c: CPython keeps the interval as a whole number of
microseconds. setswitchinterval(s) stores (unsigned long)(1e6 * s), which TRUNCATES, and
getswitchinterval() returns 1e-6 * that. Floating point makes both steps lossy:
setswitchinterval(0.000249) stores 248 us, and the round trip
setswitchinterval(getswitchinterval()) turns 15 us into 14 us (3.11-3.13).
"""

import contextlib
import math
import numbers
import sys


@contextlib.contextmanager
def switch_interval(seconds: float):
    """Inside the `with` block the switch interval is `seconds`; after the block it is again
    exactly what it was before, however the block ends.

    - In whole microseconds: inside, round(sys.getswitchinterval() * 1e6) equals
      round(seconds * 1e6); after, sys.getswitchinterval() returns the very float it
      returned before the block (see the module docstring for why that takes care).
    - The `as` target is the interval before the block, as sys.getswitchinterval() gave it.
    - An exception in the block propagates after the interval is restored.
    - Blocks nest: each one restores what it found.
    - Bad values are refused before anything changes, and the block does not run: a
      non-number (a bool counts as one) raises TypeError; NaN, an infinity or less than
      one microsecond (seconds < 1e-6) raises ValueError.

    >>> import sys
    >>> before = sys.getswitchinterval()
    >>> with switch_interval(0.001) as old:
    ...     print(sys.getswitchinterval(), old == before)
    0.001 True
    >>> sys.getswitchinterval() == before
    True
    """
    ### BEGIN SOLUTION
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 1e-6:
        raise ValueError(f"the switch interval must be finite and at least 1e-6 s, got {seconds!r}")
    previous = sys.getswitchinterval()
    # CPython stores int(1e6 * s): 1e6 * 0.000249 is 248.99999999999997, stored as 248 us.
    # Half a microsecond more truncates to the intended whole number every time.
    sys.setswitchinterval((round(seconds * 1e6) + 0.5) / 1e6)
    try:
        yield previous
    finally:   # runs on every way out of the block; setswitchinterval(previous) could lose 1 us
        sys.setswitchinterval((round(previous * 1e6) + 0.5) / 1e6)
    ### END SOLUTION
