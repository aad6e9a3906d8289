"""Task 08.2: a mini hub - a greenlet running a selector loop, as gevent's hub does on libev.

gevent runs one hub greenlet per thread: Hub.run (src/gevent/hub.py, gevent 26.9.0) runs the
event loop, and a blocking call in a greenlet starts a watcher and switches to the hub
(WaitOperationsGreenlet.wait, src/gevent/_hub_primitives.py); the watcher's callback switches
back. Here the loop is a selector and a pass is shaped like
asyncio's BaseEventLoop._run_once (Lib/asyncio/base_events.py): poll, queue what became ready,
run what was ready.

class MiniHub(selector=None)
  `selector` defaults to selectors.DefaultSelector(); the tests pass their own. The hub uses
  it through three calls only: selector.register(fd, selectors.EVENT_READ, data),
  selector.unregister(fd) and selector.select(timeout), which returns a list of (key, mask)
  pairs whose key.fd is the fd and key.data the data you registered.

  spawn(fn, *args) -> greenlet
  wait_read(fd)      called inside a spawned greenlet: returns once fd is readable
  sleep0()           called inside a spawned greenlet: lets every other runnable greenlet run
  run()              runs the hub from the main greenlet until there is nothing left to do
  errors             a list

  Rules, each one checked:
  1. spawn(fn, *args) returns a new greenlet that will call fn(*args), and makes it runnable;
     nothing runs before run(). spawn works before run() and from inside a running greenlet.
  2. Runnable greenlets run in the order they became runnable: first runs happen in spawn
     order; sleep0() puts the current greenlet at the back of that line and switches to the
     hub.
  3. run() repeats passes. A pass: (a) if no greenlet is runnable and none waits on an fd,
     run() returns (it calls no select for that); (b) otherwise select exactly once, with
     timeout 0 if a greenlet is runnable, else None (block until an fd is ready); (c) for each
     (key, mask) reported, in the order reported, whose fd a greenlet waits on: unregister the
     fd and make that greenlet runnable; (d) run the greenlets that are runnable at this
     moment, each until it switches back to the hub, in order; greenlets that become runnable
     while they run (sleep0, spawn) wait for the next pass.
  4. wait_read(fd) registers fd for selectors.EVENT_READ and switches to the hub; the greenlet
     is resumed exactly once per readiness event that select reports for it: its registration
     is removed before it resumes, so a greenlet that does not wait again is never resumed
     again (a level-triggered selector reports an unread fd in every select).
  5. An exception raised in a greenlet ends that greenlet only: the hub appends the exception
     object to hub.errors, in the order they happen, and goes on with the others.
  6. When run() returns, every spawned greenlet is dead.
"""

import selectors
from collections import deque

from greenlet import getcurrent, greenlet


class MiniHub:
    def __init__(self, selector=None):
        ### BEGIN SOLUTION 08.2
        self.selector = selector if selector is not None else selectors.DefaultSelector()
        self.errors = []
        self._runnable = deque()        # greenlets to resume, in order
        self._waiting = {}              # fd -> the greenlet blocked in wait_read(fd)
        self._hub = None
        ### END SOLUTION

    def spawn(self, fn, *args):
        ### BEGIN SOLUTION 08.2
        g = greenlet(lambda: fn(*args))
        self._runnable.append(g)
        return g
        ### END SOLUTION

    def wait_read(self, fd):
        ### BEGIN SOLUTION 08.2
        self._waiting[fd] = getcurrent()
        self.selector.register(fd, selectors.EVENT_READ, None)
        self._hub.switch()
        ### END SOLUTION

    def sleep0(self):
        ### BEGIN SOLUTION 08.2
        self._runnable.append(getcurrent())
        self._hub.switch()
        ### END SOLUTION

    def run(self):
        ### BEGIN SOLUTION 08.2
        def loop():
            while self._runnable or self._waiting:
                timeout = 0 if self._runnable else None
                for key, _mask in self.selector.select(timeout):
                    g = self._waiting.pop(key.fd, None)
                    if g is not None:
                        self.selector.unregister(key.fd)   # before it resumes: no second wake-up
                        self._runnable.append(g)
                for _ in range(len(self._runnable)):       # only those runnable now
                    g = self._runnable.popleft()
                    # A greenlet spawned before run() has the caller as its parent; the hub
                    # adopts it, so that it ends (by a return or an exception) in this switch().
                    g.parent = self._hub
                    try:
                        g.switch()
                    except Exception as exc:                # it ended by raising: it alone
                        self.errors.append(exc)

        self._hub = greenlet(loop)
        self._hub.switch()
        ### END SOLUTION
