"""Task 04.2: wake a loop that sleeps in select, from another thread, through a self-pipe (自管道).

A loop with nothing to do waits in ``selector.select(None)``: it sleeps in the kernel until a
registered descriptor is ready, and uses no CPU. A callback (回调) appended to its ready queue
from another thread is not a descriptor, so on its own it wakes nobody. asyncio solves this
with a *self-pipe*: a ``socket.socketpair()`` whose read end is registered with the selector;
``call_soon_threadsafe`` queues the callback and then writes one byte to the other end, and the
loop wakes up (CPython v3.14.0: ``BaseEventLoop.call_soon_threadsafe`` in
Lib/asyncio/base_events.py appends the handle to ``_ready``, then calls ``_write_to_self``;
``_make_self_pipe``, ``_write_to_self`` and ``_read_from_self`` are in selector_events.py).

Write ``WakeupLoop(selector=None)``, a one-thread loop on a REAL selector
(``selectors.DefaultSelector()`` when none is given). Its methods:

- ``call_soon(callback, *args)``: run ``callback(*args)`` in a later pass (loop thread only).
- ``call_soon_threadsafe(callback, *args)``: the same, callable from any thread: first queue
  the callback, then write one byte to the self-pipe's write end. If the write end is full
  (``BlockingIOError``), ignore it: a full pipe is already readable, so the loop will wake.
- ``add_reader(fileobj, callback, *args)``: run ``callback(*args)`` in every pass in which
  ``fileobj`` (a socket or a descriptor number) is readable; ``remove_reader(fileobj)`` stops
  that and returns True if a reader was registered.
- ``run_once()``: one pass: select with timeout ``0`` if a callback is ready or ``stop()`` was
  called, else ``None`` - block, never poll; queue the readers that select reports; then run
  exactly the callbacks ready at that moment, first in, first out (each exactly once).
- ``run_forever()``: passes until one in which (or before which) ``stop()`` was called has
  finished. ``stop()``: ask run_forever to return after the current pass.
- ``close()``: unregister the self-pipe's read end, close both of its sockets and close the
  selector; after that, ``call_soon`` and ``call_soon_threadsafe`` raise ``RuntimeError``. A
  second ``close()`` does nothing.

Rules the tests check:

1. An idle loop blocks: every select timeout is ``None`` while nothing is ready (a loop that
   polls with ``0`` or a small timeout burns a CPU core while waiting).
2. A callback queued from another thread while the loop is blocked in ``select(None)`` runs,
   in the loop's thread.
3. The callback is queued BEFORE the byte is written: the other order lets the loop wake,
   find nothing, and go back to sleep with the callback still waiting.
4. The self-pipe's read end is registered from the start, and its reader callback reads until
   nothing is left (until ``BlockingIOError``): one pass after any number of wake-ups, the
   pipe is empty, so the next idle select blocks instead of returning at once.
5. Many threads calling ``call_soon_threadsafe`` at once, even when the pipe is full: every
   callback runs exactly once, those of one thread in the order that thread queued them.
6. ``close()`` releases every descriptor the loop opened (the socket pair and the selector's
   own), and the selector has nothing registered when it is closed.
"""

import collections
import selectors
import socket


class WakeupLoop:
    def __init__(self, selector=None):
        ### BEGIN SOLUTION
        self._selector = selector if selector is not None else selectors.DefaultSelector()
        self._ready = collections.deque()      # deque.append/popleft are atomic: no lock needed
        self._stopping = False
        self._closed = False
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)         # a full pipe must raise, never block a caller
        self.add_reader(self._rsock, self._drain_self_pipe)
        ### END SOLUTION

    def call_soon(self, callback, *args):
        ### BEGIN SOLUTION
        if self._closed:
            raise RuntimeError("the loop is closed")
        self._ready.append((callback, args))
        ### END SOLUTION

    def call_soon_threadsafe(self, callback, *args):
        ### BEGIN SOLUTION
        if self._closed:
            raise RuntimeError("the loop is closed")
        self._ready.append((callback, args))   # queue first: the loop may wake at once
        try:
            self._wsock.send(b"\0")
        except BlockingIOError:
            pass                               # full, hence readable: the loop wakes anyway
        ### END SOLUTION

    def add_reader(self, fileobj, callback, *args):
        ### BEGIN SOLUTION
        self.remove_reader(fileobj)
        self._selector.register(fileobj, selectors.EVENT_READ, (callback, args))
        ### END SOLUTION

    def remove_reader(self, fileobj):
        ### BEGIN SOLUTION
        try:
            self._selector.unregister(fileobj)
        except KeyError:
            return False
        return True
        ### END SOLUTION

    def _drain_self_pipe(self):
        """The self-pipe's reader callback: read until nothing is left (BlockingIOError)."""
        ### BEGIN SOLUTION
        while True:
            try:
                if not self._rsock.recv(4096):
                    return
            except InterruptedError:
                continue
            except BlockingIOError:
                return
        ### END SOLUTION

    def run_once(self):
        ### BEGIN SOLUTION
        timeout = 0 if self._ready or self._stopping else None
        for key, _mask in self._selector.select(timeout):
            self._ready.append(key.data)
        for _ in range(len(self._ready)):
            callback, args = self._ready.popleft()
            callback(*args)
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

    def close(self):
        ### BEGIN SOLUTION
        if self._closed:
            return
        self._closed = True
        self.remove_reader(self._rsock)
        self._rsock.close()
        self._wsock.close()
        self._selector.close()
        self._ready.clear()
        ### END SOLUTION
