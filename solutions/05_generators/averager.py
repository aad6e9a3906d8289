"""Task 05.1: a primed running averager (协程 made from a 生成器), with exact states.

A generator used as a coroutine receives values with send(). A new generator has not started
(inspect.getgeneratorstate: GEN_CREATED), and send(x) with x not None raises TypeError
("can't send non-None value to a just-started generator"): it must first be advanced to its
first `yield` ("primed") with next(). `primed` is a decorator that does that once for you.

Write two things.

primed(genfunc)
  A decorator for generator functions. Calling the decorated function with any positional
  and keyword arguments creates the generator, advances it to its first yield with next()
  (the value that first yield gives is thrown away) and returns the generator, now in state
  GEN_SUSPENDED. The wrapper keeps the function's __name__ and __doc__ (functools.wraps).

averager()
  Decorated with @primed. Rules, each one checked:
  1. Right after averager() the generator is GEN_SUSPENDED.
  2. send(x) with x a real number (int or float; a bool is NOT a number here) counts x and
     returns the running average of every number counted so far, as a float:
     send(10) -> 10.0, send(20) -> 15.0, send(3) -> 11.0.
  3. send(None) ends the averager: send raises StopIteration whose .value is the tuple
     (count, average) - (3, 11.0) above; (0, None) if nothing was counted. The state is
     then GEN_CLOSED.
  4. A bad value ends it with an error: send(x) raises TypeError for a non-number (a str,
     a bool, a complex, a list...) and ValueError for NaN or an infinity, and the state is
     then GEN_CLOSED (an exception that leaves a generator always finishes it).
  5. close() on a running averager returns without error and leaves it GEN_CLOSED: the
     averager must not yield again after GeneratorExit (CPython then raises RuntimeError
     "generator ignored GeneratorExit", Objects/genobject.c: gen_close).
  6. throw(exc) raises exc out of throw() unchanged (same type, same args) and leaves the
     averager GEN_CLOSED: do not catch what you did not expect.
"""

import functools
import math
import numbers


def primed(genfunc):
    """Decorator: calling the decorated generator function returns a generator already
    advanced to its first yield (GEN_SUSPENDED)."""
    ### BEGIN SOLUTION 05.1
    @functools.wraps(genfunc)
    def start(*args, **kwargs):
        gen = genfunc(*args, **kwargs)
        next(gen)
        return gen
    return start
    ### END SOLUTION


@primed
def averager():
    """Send numbers, get the running average back; send None to finish: StopIteration.value
    is (count, average).

    >>> avg = averager()
    >>> avg.send(10), avg.send(20), avg.send(3)
    (10.0, 15.0, 11.0)
    >>> try:
    ...     avg.send(None)
    ... except StopIteration as stop:
    ...     print(stop.value)
    (3, 11.0)
    """
    ### BEGIN SOLUTION 05.1
    total = 0.0
    count = 0
    average = None
    while True:
        value = yield average
        if value is None:
            return count, average
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"averager takes int or float numbers, not {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"averager cannot average {value!r}")
        total += value
        count += 1
        average = total / count
    ### END SOLUTION
