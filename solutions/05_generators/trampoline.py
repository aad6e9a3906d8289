"""Task 05.3: a trampoline (蹦床) scheduler: tasks made of nested generator calls.

Before `yield from` (PEP 380, Python 3.3), a generator could not simply call another
generator and wait for its result: the callee's yields would not reach the scheduler. The
answer (D. Beazley's pyos8, "A Curious Course on Coroutines and Concurrency", 2009) is a
trampoline: the scheduler keeps, for each task, a STACK of generators, and does the calling
and returning itself.

Write class Scheduler with two methods:

  spawn(gen, name)   Add a task whose top-level code is the generator `gen` (not started yet)
                     under the name `name`. A `gen` that is not a generator object raises
                     TypeError; a name already used raises ValueError.
  run()              Run every task to its end, then return a dict {name: outcome}, with
                     outcome ("returned", value) or ("raised", exception_object).

Inside a task, the generator on top of its stack runs; what it yields decides what happens:

  1. CALL. Yielding a generator object `g` calls it: push g on the task's stack and start it
     (next). When g returns v, pop it and send v into the caller, as the value of its
     `yield g` expression: `x = yield add(1, 2)` sets x = 3. Calls nest to any depth.
  2. EXCEPTIONS CROSS LEVELS. An exception (an Exception subclass) that escapes a called
     generator pops it and is thrown into its caller at the `yield g` (caller.throw(exc)),
     so the caller's try/except catches it as if it were an ordinary call; if the caller
     does not catch it, it goes on to the caller's caller, and so on.
  3. SWITCH. Yielding anything else (None, a number, a string...) ends the task's turn; the
     task is resumed later where it was (the generator on top of its stack, even if that is
     a called one), and the yield expression gives None.
  4. ROUND ROBIN. Tasks take turns in the order they were spawned: a task whose turn ends
     goes to the back of the line. A call or a return does NOT end a turn: the task goes on
     at once with the callee (or the caller).
  5. OUTCOMES. When the top-level generator returns v the task's outcome is ("returned", v);
     when an exception escapes it, ("raised", exc). A failing task never stops the others.

Example (the trace is exact):

    def add(x, y):
        yield                      # a switch inside a call suspends the whole task
        return x + y

    def task(log, name):
        log.append(name + " starts")
        total = yield add(1, 2)
        log.append(f"{name} got {total}")
        return total

    s = Scheduler(); log = []
    s.spawn(task(log, "A"), "A"); s.spawn(task(log, "B"), "B")
    s.run()   # {'A': ('returned', 3), 'B': ('returned', 3)}
    log       # ['A starts', 'B starts', 'A got 3', 'B got 3']
"""

import types
from collections import deque


class Scheduler:
    """Round-robin tasks, each a stack of generators (see the module docstring)."""

    def __init__(self):
        ### BEGIN SOLUTION 05.3
        self._ready = deque()      # (name, stack) in turn order
        self._names = set()
        ### END SOLUTION

    def spawn(self, gen, name):
        """Add a task: `gen` a generator object, `name` unused so far."""
        ### BEGIN SOLUTION 05.3
        if not isinstance(gen, types.GeneratorType):
            raise TypeError(f"spawn() needs a generator object, not {type(gen).__name__}")
        if name in self._names:
            raise ValueError(f"a task named {name!r} already exists")
        self._names.add(name)
        self._ready.append((name, [gen]))
        ### END SOLUTION

    def run(self):
        """Run every task to its end; return {name: ("returned", v) | ("raised", exc)}."""
        ### BEGIN SOLUTION 05.3
        outcomes = {}
        while self._ready:
            name, stack = self._ready.popleft()
            finished, outcome = self._turn(stack)
            if finished:
                outcomes[name] = outcome
            else:
                self._ready.append((name, stack))
        return outcomes
        ### END SOLUTION

    ### BEGIN SOLUTION 05.3
    @staticmethod
    def _turn(stack):
        """Run one task until it switches (-> False, None) or ends (-> True, outcome)."""
        value, error = None, None
        while True:
            gen = stack[-1]
            try:
                yielded = gen.send(value) if error is None else gen.throw(error)
            except StopIteration as stop:
                stack.pop()
                value, error = stop.value, None
                if not stack:
                    return True, ("returned", value)
                continue
            except Exception as exc:
                stack.pop()
                value, error = None, exc
                if not stack:
                    return True, ("raised", exc)
                continue
            value, error = None, None
            if isinstance(yielded, types.GeneratorType):
                stack.append(yielded)        # a call: the callee runs next, from its start
            else:
                return False, None           # a switch: resume this stack's top next turn
    ### END SOLUTION
