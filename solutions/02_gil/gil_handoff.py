"""Task 02.5: simulate how the GIL (全局解释器锁) passes between threads, I/O included.

Since Python 3.2 the GIL is handed over on a timer, not every N bytecodes. The code is in
CPython's Python/ceval_gil.c (function names as of 3.11-3.13):

  take_gil()  A thread that finds the GIL locked waits on gil->cond for at most `interval`
              (sys.getswitchinterval(), 5000 us by default: DEFAULT_INTERVAL). If the wait
              times out and no switch happened meanwhile (gil->switch_number unchanged), it
              sets the holder's drop request (SET_GIL_DROP_REQUEST; in 3.13 a bit of the
              holder's eval_breaker) and waits again. Taking the GIL clears the request.
  eval loop   The holder tests eval_breaker at check points (RESUME, JUMP_BACKWARD, calls),
              sees the request and calls drop_gil().
  drop_gil()  releases the GIL and signals gil->cond. With FORCE_SWITCHING (defined in
              Include/internal/pycore_gil.h, on in every release) a thread that drops on
              request then waits on gil->switch_cond until gil->last_holder is another
              thread: it cannot grab the GIL straight back.
  I/O         A blocking call (recv, read, sleep...) is wrapped in Py_BEGIN_ALLOW_THREADS /
              Py_END_ALLOW_THREADS: drop_gil() before it, take_gil() after it.

The I/O rule is where the convoy effect (护航效应, bpo-7946) comes from: a thread that does
a little work between blocking calls gives the GIL away at every call, and each time it
comes back it finds a CPU-bound thread holding the GIL and waits a full interval.

THE MODEL. Input: `threads`, a list of scripts, one per thread; thread k is threads[k]. A
script is a list of bursts ("cpu", d) - compute for d while holding the GIL - or ("io", d)
- block for d without the GIL. Durations and `interval` are positive numbers in one unit
(microseconds, like ceval_gil.c; use integers and the trace is exact). Output: the trace,
a list of (time, thread, event) tuples in the order the events happen. The events:

  "take"     the thread takes the GIL
  "wait"     the thread wants the GIL but another thread holds it (it is in take_gil())
  "request"  a waiting thread's check finds no switch since its last check: it sets the drop request
  "drop"     the holder gives the GIL up because of the drop request
  "io"       the holder releases the GIL to start an I/O burst
  "exit"     the thread has run its whole script and releases the GIL for good

The rules:

 1. Start: at time 0 the threads call take_gil() one after another, in thread order, before
    anything else happens. So thread 0 takes the GIL and every other thread waits.
 2. take_gil(): if the GIL is free the thread takes it at once. Otherwise it joins the back
    of the line of waiters ("wait") and checks every `interval` after that. A check finds
    "no switch" if the GIL has not gone to a new thread since the later of the wait's start
    and the thread's previous check (a switch: the GIL is taken by a thread other than the
    one that held it last). Then the waiter sets the drop request ("request", at every such
    check, even if the request is already set).
 3. The holder runs its "cpu" bursts (two "cpu" bursts in a row are one). It notices a drop
    request at once: in this model every instant of a cpu burst is a check point.
 4. Hand-over: whenever the GIL is released and the line is not empty, the first thread in
    line takes it at that instant. Taking the GIL clears the drop request.
 5. "drop" with force_switching=True: the dropper calls take_gil() again right after another
    thread has taken the GIL (so its "wait" comes right after that "take").
    With force_switching=False: the dropper takes the GIL straight back ("take" right after
    its "drop": no switch). The first thread in line, woken for nothing, goes to the back of
    the line and begins a new wait: its next check is `interval` later.
 6. A holder whose next burst is "io" releases the GIL ("io") and, when the burst ends,
    calls take_gil(). A thread whose script is done releases the GIL ("exit"); a script that
    ends with "io" therefore takes the GIL once more before its "exit".
 7. Whatever happens at one instant t happens in this order: the holder's cpu burst ends;
    I/O bursts end (in thread order); the waiters' checks due at t (in thread order); the
    holder notices the drop request. Every release hands over (rule 4) at once, and a thread
    that takes the GIL goes on with its script at once: a "take" may be followed, at the
    same instant, by that thread's "io" or "exit".

Left out on purpose: the time a woken thread needs before it runs, check points spaced out
(a long C call such as sum(range(10**8)) reaches none until it returns), which waiter the
operating system really wakes, and more threads than CPU cores.
"""


def simulate_gil(threads: list[list[tuple[str, float]]], interval: float = 5000,
                 force_switching: bool = True) -> list[tuple[float, int, str]]:
    """Return the trace of `threads` under the rules of the module docstring.

    Raise ValueError if `interval` is not positive, a script is empty, a burst kind is not
    "cpu" or "io", or a duration is not positive. No threads: an empty trace.

    Two CPU-bound threads, interval 2: thread 1 asks at 2 and gets the GIL at once.

    >>> for event in simulate_gil([[("cpu", 3)], [("cpu", 2)]], interval=2):
    ...     print(event)
    (0, 0, 'take')
    (0, 1, 'wait')
    (2, 1, 'request')
    (2, 0, 'drop')
    (2, 1, 'take')
    (2, 0, 'wait')
    (4, 1, 'exit')
    (4, 0, 'take')
    (5, 0, 'exit')
    """
    ### BEGIN SOLUTION
    if not interval > 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    scripts = []
    for k, script in enumerate(threads):
        if not script:
            raise ValueError(f"thread {k} has an empty script")
        for kind, duration in script:
            if kind not in ("cpu", "io") or isinstance(duration, bool) or not duration > 0:
                raise ValueError(f"thread {k}: bad burst {(kind, duration)!r}")
        scripts.append([[kind, duration] for kind, duration in script])   # our own copy: we consume it

    trace: list[tuple[float, int, str]] = []
    now = 0
    gil = {"holder": None, "last_holder": None, "switches": 0, "drop_request": False}
    line: list[int] = []                  # waiters, first in line first
    next_check: dict[int, float] = {}     # waiter -> time of its next check
    seen: dict[int, int] = {}             # waiter -> gil["switches"] at its last check
    io_end: dict[int, float] = {}         # thread in an I/O burst -> when the burst ends
    run_end = None                        # when the holder's current cpu burst ends
    run_start = 0
    switch_waiters: list[int] = []        # FORCE_SWITCHING: dropped, waiting for another to take
    done: set[int] = set()

    def event(thread, what):
        trace.append((now, thread, what))

    def start_wait(k):                    # one turn of take_gil()'s loop
        next_check[k] = now + interval
        seen[k] = gil["switches"]

    def take_gil(k):
        """Thread k wants the GIL; True if it got it (then the caller runs it on)."""
        if gil["holder"] is None:
            take(k)
            return True
        event(k, "wait")
        line.append(k)
        start_wait(k)
        return False

    def take(k):
        if k in line:
            line.remove(k)
            del next_check[k], seen[k]
        gil["holder"] = k
        if gil["last_holder"] != k:       # ++gil->switch_number only when the holder changes
            gil["last_holder"] = k
            gil["switches"] += 1
        gil["drop_request"] = False
        event(k, "take")
        while switch_waiters:             # FORCE_SWITCHING: COND_SIGNAL(gil->switch_cond)
            take_gil(switch_waiters.pop(0))   # the GIL is held by k: they wait

    def release():
        gil["holder"] = None
        if line:                          # rule 4: the first in line takes it now
            k = line[0]
            take(k)
            go_on(k)

    def go_on(k):
        """Thread k has just taken the GIL (or finished a cpu burst): run its script on."""
        nonlocal run_end, run_start
        script = scripts[k]               # script[0] is the current burst
        if not script:
            event(k, "exit")
            done.add(k)
            run_end = None
            release()
        elif script[0][0] == "io":
            event(k, "io")
            io_end[k] = now + script.pop(0)[1]
            run_end = None
            release()
        else:
            run_start, run_end = now, now + script[0][1]

    for k in range(len(scripts)):         # rule 1: thread 0 takes the GIL, the others wait
        take_gil(k)
    if scripts:
        go_on(0)

    while len(done) < len(scripts):
        now = min([t for t in (run_end,) if t is not None] + list(io_end.values()) + list(next_check.values()))
        holder = gil["holder"]
        if run_end == now:                # 7a: the holder's cpu burst ends
            scripts[holder].pop(0)
            go_on(holder)
        for k in sorted(k for k, t in io_end.items() if t == now):   # 7b: I/O bursts end
            del io_end[k]
            if take_gil(k):
                go_on(k)
        for k in sorted(k for k, t in next_check.items() if t == now):   # 7c: checks
            if seen[k] == gil["switches"]:
                event(k, "request")
                gil["drop_request"] = True
            start_wait(k)
        holder = gil["holder"]
        if gil["drop_request"] and holder is not None:   # 7d: the holder notices
            scripts[holder][0][1] -= now - run_start      # cpu time still to do in this burst
            event(holder, "drop")
            gil["holder"], run_end = None, None
            if force_switching:
                switch_waiters.append(holder)
                release()
            else:
                woken = line.pop(0)       # woken for nothing: back of the line, new wait
                line.append(woken)
                start_wait(woken)
                take(holder)
                go_on(holder)
    return trace
    ### END SOLUTION


def total_waits(trace: list[tuple[float, int, str]]) -> list[float]:
    """Return, for each thread of `trace` (index = thread number), the total time it spent
    waiting for the GIL: the sum, over its "wait" events, of the time to its next "take".

    >>> total_waits([(0, 0, 'take'), (0, 1, 'wait'), (2, 1, 'request'), (2, 0, 'drop'),
    ...              (2, 1, 'take'), (2, 0, 'wait'), (4, 1, 'exit'), (4, 0, 'take'), (5, 0, 'exit')])
    [2, 2]
    """
    ### BEGIN SOLUTION
    threads = 1 + max((thread for _, thread, _ in trace), default=-1)
    totals = [0] * threads
    since: dict[int, float] = {}
    for time, thread, what in trace:
        if what == "wait":
            since[thread] = time
        elif what == "take" and thread in since:
            totals[thread] += time - since.pop(thread)
    return totals
    ### END SOLUTION
