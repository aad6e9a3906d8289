"""Task 12.1: an Erlang-style reduction scheduler (规约调度器), built from generators.

BEAM, Erlang's virtual machine, preempts a process not by a timer but by counting its work:
each process is scheduled in with a budget of reductions (规约, roughly one function call
each; CONTEXT_REDS is 4000 in erts/emulator/beam/erl_vm.h, OTP 27), every call and BIF
charges it, and when the budget is spent the scheduler puts the process at the back of its run
queue (erts/emulator/beam/erl_process.c, erts_schedule). A process cannot hog a scheduler,
however long it computes, and nobody needs a signal or a timer to stop it. Here a process is
a generator, and each value it yields is what that step cost.

ReductionScheduler(budget)
  budget: the reductions each slice may use, an int >= 1 (not a bool); anything else raises
  ValueError.

spawn(name, gen)
  Add a process. gen must be a generator object (what calling a generator function returns):
  TypeError otherwise. Names are unique among the processes spawned so far, live and finished:
  ValueError for a name already used. A process may call spawn() while run() runs (through
  a reference to the scheduler it holds, such as a closure); the new process joins the tail
  of the run queue at once.

run() -> list of (name, reductions) slices
  1. The run queue is FIFO, in spawn order. The process at its head gets a fresh budget and is
     resumed (next(gen)) as long as the charge of its slice is below the budget.
  2. Each yielded value is what that step cost: None costs 1, an int >= 1 costs itself.
     Anything else - a bool, 0, a negative int, a float, a str - is a bug in that process:
     close its generator, close the other live ones too, and raise ValueError from run().
  3. When the slice's charge reaches or passes the budget, the slice ends (with the whole
     charge: a step that yields 10 under a budget of 4 ends a slice of 10) and the process
     goes to the tail of the run queue, behind every process waiting.
  4. When the generator returns (StopIteration), its slice ends - a slice that charged 0 is
     still recorded - and its return value goes to results[name].
  5. A process that raises: the exception propagates out of run(), and the other live
     generators are closed.
  run() returns once the run queue is empty, with the slices in the order they ran.

results: dict, name -> the return value of each finished process.

    >>> def worker(n):
    ...     for _ in range(n):
    ...         yield          # one reduction
    ...     return n
    >>> s = ReductionScheduler(4)
    >>> s.spawn("A", worker(10)); s.spawn("B", worker(10))
    >>> s.run()
    [('A', 4), ('B', 4), ('A', 4), ('B', 4), ('A', 2), ('B', 2)]
    >>> s.results
    {'A': 10, 'B': 10}

With unit costs this is fair: at every preemption the reductions two live processes have
used differ by at most the budget.
"""

from __future__ import annotations

import types
from collections import deque
from typing import Any, Generator


class ReductionScheduler:
    """Round-robin over generators, each slice bounded by a budget of reductions."""

    def __init__(self, budget: int) -> None:
        ### BEGIN SOLUTION 12.1
        if type(budget) is not int or budget < 1:
            raise ValueError(f"budget must be an int >= 1, got {budget!r}")
        self.budget = budget
        self.results: dict[str, Any] = {}
        self._queue: deque[tuple[str, Generator]] = deque()
        self._names: set[str] = set()
        ### END SOLUTION

    def spawn(self, name: str, gen: Generator) -> None:
        """Add process `name`, running generator `gen`, at the tail of the run queue."""
        ### BEGIN SOLUTION 12.1
        if not isinstance(gen, types.GeneratorType):
            raise TypeError(f"spawn() takes a generator object, got {type(gen).__name__}")
        if name in self._names:
            raise ValueError(f"a process named {name!r} was already spawned")
        self._names.add(name)
        self._queue.append((name, gen))
        ### END SOLUTION

    def run(self) -> list[tuple[str, int]]:
        """Run every process to its end; return the slices as (name, reductions used)."""
        ### BEGIN SOLUTION 12.1
        slices: list[tuple[str, int]] = []
        while self._queue:
            name, gen = self._queue.popleft()
            charge = 0
            try:
                while charge < self.budget:
                    cost = next(gen)
                    if cost is None:
                        cost = 1
                    if type(cost) is not int or cost < 1:
                        raise ValueError(f"process {name!r} yielded {cost!r}: a step costs None (1) or an int >= 1")
                    charge += cost
            except StopIteration as stop:
                self.results[name] = stop.value
                slices.append((name, charge))
                continue
            except BaseException:
                gen.close()
                self._close_all()
                raise
            slices.append((name, charge))
            self._queue.append((name, gen))
        return slices

    def _close_all(self) -> None:
        while self._queue:
            self._queue.popleft()[1].close()
        ### END SOLUTION
