"""Task 08.1: an explicit greenlet ping-pong, and an exception thrown into a greenlet.

A greenlet (微线程) is a stackful coroutine (有栈协程): it can switch away from any depth of
ordinary calls, and nothing schedules it but you. g.switch(x) suspends the current greenlet
and resumes g, handing it x; what some greenlet later switches back to you arrives as the
return value of your own switch(). A greenlet that finishes switches to its parent (父
greenlet: the greenlet that was current when it was created, unless you set another): the
value it returns arrives at the parent's pending switch(), and an exception it does not catch
is raised there. g.throw(exc) raises exc inside a suspended g, at the switch() call where it
stopped; GreenletExit is special: a greenlet that does not catch it ends normally, and its
parent receives the exception object as an ordinary value (src/greenlet/TGreenlet.cpp,
g_handle_exit, "catch and ignore GreenletExit", greenlet 3.5.6).

Use `from greenlet import greenlet, getcurrent, GreenletExit`.

def pingpong(n: int, log) -> list
  `log` is a function of one string that the tests give you: it records each line and which
  greenlet was running when it was called. Rules, each one checked:
  1. n < 1 raises ValueError, and nothing is logged.
  2. pingpong creates two greenlets, ping and pong; the parent of both is the greenlet that
     called pingpong.
  3. They write 2n lines through log, in this order: "ping 0", "pong 0", "ping 1", "pong 1",
     ..., "pong {n-1}". Every "ping" line is written while ping runs, every "pong" line while
     pong runs: never by the caller.
  4. They switch to each other directly: from the moment ping first runs until the last line
     is written, nothing switches to the caller's greenlet (no relay through the caller:
     greenlet.settrace sees exactly 2n - 1 switches between the first and the last line).
  5. pong, after writing its last line, returns the string f"pong finished {n}"; the caller
     then resumes ping, which returns f"ping finished {n}". pingpong returns the two values
     as they arrived at the caller's switch() calls: [f"pong finished {n}", f"ping finished {n}"].
  6. When pingpong returns, both greenlets are dead (none is left suspended: a suspended
     greenlet that is garbage-collected gets a GreenletExit thrown in, at a moment nobody
     chose).

def route(exc: BaseException, log) -> object
  7. route creates one greenlet, worker, whose parent is the
     caller; started with worker.switch(), it logs "started" and switches back to the caller,
     which leaves it suspended.
  8. route then delivers exc with worker.throw(exc): the exception is raised inside worker, at
     the switch() where it is suspended (greenlet.settrace sees a "throw" into worker).
  9. worker catches ValueError (subclasses too): it logs f"caught {exc}" and returns
     f"handled {exc}"; that value comes back from throw(), and route returns it.
  10. worker does not catch GreenletExit: greenlet ends it normally, throw() returns the
     GreenletExit object itself, and route returns that object.
  11. worker catches nothing else: any other exception propagates out of worker to its parent,
      out of throw(), and out of route unchanged (the same object).
  12. On every path worker logs "cleanup" exactly once, last (a finally block), and it is dead
      when route returns or raises.
"""

from greenlet import getcurrent, greenlet


def pingpong(n, log):
    ### BEGIN SOLUTION 08.1
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")

    def ping_body():
        for i in range(n):
            log(f"ping {i}")
            pong.switch(i)              # resumes pong; returns when pong switches back
        return f"ping finished {n}"     # goes to ping's parent, the caller

    def pong_body(i):                   # the first switch's argument is the first i
        while True:
            log(f"pong {i}")
            if i == n - 1:
                return f"pong finished {n}"
            i = ping.switch()

    ping, pong = greenlet(ping_body), greenlet(pong_body)
    first = ping.switch()               # runs until pong returns: its value arrives here
    second = ping.switch()              # ping, still in pong.switch(), finishes its loop
    return [first, second]
    ### END SOLUTION


def route(exc, log):
    ### BEGIN SOLUTION 08.1
    caller = getcurrent()

    def work():
        try:
            log("started")
            caller.switch()             # suspended here: throw() raises exc at this call
        except ValueError as error:
            log(f"caught {error}")
            return f"handled {error}"
        finally:
            log("cleanup")

    worker = greenlet(work)
    worker.switch()
    return worker.throw(exc)
    ### END SOLUTION
