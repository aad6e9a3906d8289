"""Task 04.1: the core of an event loop (事件循环), on a clock and a selector you are given.

Write ``MiniLoop(clock, selector)``, a one-thread loop shaped like asyncio's
``BaseEventLoop._run_once`` (Lib/asyncio/base_events.py). ``clock()`` returns the time in
seconds (the tests pass a fake clock that only moves when their selector "waits"). The loop
uses the selector through three calls only: ``selector.register(fd, selectors.EVENT_READ, data)``,
``selector.unregister(fd)``, and ``selector.select(timeout)``, which returns a list of
``(key, mask)`` pairs whose ``key.data`` is the ``data`` you registered.

Methods:

- ``time()`` -> ``clock()``.
- ``call_soon(callback, *args)``, ``call_at(when, callback, *args)``,
  ``call_later(delay, callback, *args)`` (= ``call_at(time() + delay, ...)``): each returns a
  handle with ``cancel()``. A cancelled callback or timer never runs.
- ``add_reader(fd, callback, *args)``: run ``callback(*args)`` in every pass in which select
  reports ``fd`` readable; ``remove_reader(fd)`` stops that (one reader per fd): the callback
  never runs after it, not even when this pass's select had already reported ``fd``.
- ``run_once()``: one pass, in this order:
  1. the purge rule: if more than 100 timers are in the heap and more than half of them are
     cancelled, rebuild the heap without the cancelled ones; otherwise pop the cancelled
     timers at the heap's top (only those).
  2. the select timeout: ``0`` if a callback is ready or ``stop()`` was called; else the first
     live timer's ``when - time()`` clamped to ``[0, 86400]`` (asyncio's
     MAXIMUM_SELECT_TIMEOUT); else ``None``.
  3. ``selector.select(timeout)`` exactly once; queue the reader callbacks it reports, in the
     order reported.
  4. move every timer with ``when <= time()`` to the ready queue, earliest first, timers with
     equal ``when`` in the order they were scheduled.
  5. run exactly the callbacks that are ready at this moment, in order; callbacks they add
     (call_soon, or timers already due) wait for the next pass.
- ``pending_timers()``: how many timers are in the heap now, cancelled ones not yet removed
  included (so the purge rule is observable).
- ``run_forever()``: repeat passes until a pass in which (or before which) ``stop()`` was
  called has finished; then return, ready for another ``run_forever()``.
- ``stop()``: ask run_forever to return after the current pass.
"""

import heapq
import itertools
from collections import deque

MAXIMUM_SELECT_TIMEOUT = 24 * 3600


class Handle:
    def __init__(self, when, seq, callback, args):
        self.when, self.seq, self.callback, self.args = when, seq, callback, args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def __lt__(self, other):
        return (self.when, self.seq) < (other.when, other.seq)


class MiniLoop:
    def __init__(self, clock, selector):
        ### BEGIN SOLUTION
        self._clock = clock
        self._selector = selector
        self._ready = deque()
        self._timers = []
        self._seq = itertools.count()
        self._readers = {}
        self._stopping = False
        ### END SOLUTION

    def time(self):
        ### BEGIN SOLUTION
        return self._clock()
        ### END SOLUTION

    def call_soon(self, callback, *args):
        ### BEGIN SOLUTION
        handle = Handle(None, next(self._seq), callback, args)
        self._ready.append(handle)
        return handle
        ### END SOLUTION

    def call_at(self, when, callback, *args):
        ### BEGIN SOLUTION
        handle = Handle(when, next(self._seq), callback, args)
        heapq.heappush(self._timers, handle)
        return handle
        ### END SOLUTION

    def call_later(self, delay, callback, *args):
        ### BEGIN SOLUTION
        return self.call_at(self.time() + delay, callback, *args)
        ### END SOLUTION

    def add_reader(self, fd, callback, *args):
        ### BEGIN SOLUTION
        import selectors
        self.remove_reader(fd)
        handle = Handle(None, next(self._seq), callback, args)
        self._readers[fd] = handle
        self._selector.register(fd, selectors.EVENT_READ, handle)
        ### END SOLUTION

    def remove_reader(self, fd):
        ### BEGIN SOLUTION
        handle = self._readers.pop(fd, None)
        if handle is None:
            return False
        handle.cancel()
        self._selector.unregister(fd)
        return True
        ### END SOLUTION

    def pending_timers(self):
        ### BEGIN SOLUTION
        return len(self._timers)
        ### END SOLUTION

    def run_once(self):
        ### BEGIN SOLUTION
        cancelled = sum(1 for t in self._timers if t.cancelled)
        if len(self._timers) > 100 and cancelled / len(self._timers) > 0.5:
            self._timers = [t for t in self._timers if not t.cancelled]
            heapq.heapify(self._timers)
        else:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
        if self._ready or self._stopping:
            timeout = 0
        elif self._timers:
            timeout = min(max(0, self._timers[0].when - self.time()), MAXIMUM_SELECT_TIMEOUT)
        else:
            timeout = None
        for key, _mask in self._selector.select(timeout):
            if not key.data.cancelled:
                self._ready.append(key.data)
        now = self.time()
        while self._timers and self._timers[0].when <= now:
            self._ready.append(heapq.heappop(self._timers))
        for _ in range(len(self._ready)):
            handle = self._ready.popleft()
            if not handle.cancelled:
                handle.callback(*handle.args)
        ### END SOLUTION

    def run_forever(self):
        ### BEGIN SOLUTION
        try:
            while True:
                self.run_once()
                if self._stopping:
                    break
        finally:
            self._stopping = False
        ### END SOLUTION

    def stop(self):
        ### BEGIN SOLUTION
        self._stopping = True
        ### END SOLUTION
