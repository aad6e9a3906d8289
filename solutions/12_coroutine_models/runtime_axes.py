"""Task 12.3: place thirteen runtimes on the lesson's axes (协程模型的分类维度).

classify(runtime) -> dict with exactly these six keys:

  stackful     bool. True when each unit of concurrency keeps a whole call stack of its own
               (有栈协程), so it can suspend from any depth of ordinary calls; False for a
               stackless one (无栈协程), a single frame or state machine that suspends only
               where its own body says so.
  transfer     "symmetric"  (对称): a unit names the unit it switches to (greenlet's switch);
               "asymmetric" (非对称): a unit can only yield back to whoever resumed it;
               "scheduled": units never transfer to each other - a scheduler decides.
  scheduler    "none": no scheduler, the program switches by hand; "loop": an event loop in
               one thread; "os": the kernel schedules each unit as a thread; "m_n": a runtime
               multiplexes M units over N threads.
  preemption   "none" (cooperative only); "os_timeslice": the kernel's time slice;
               "gil_interval": threads preempted at the interpreter's GIL switch interval;
               "signal": the runtime interrupts a running unit with a signal;
               "reductions": a count of work done forces the switch.
  coloured     bool. True when a function that suspends has to be marked, and so must every
               function that calls it, up the chain (函数着色, "what colour is your function").
  hog_starves  bool. On one core, does a unit that computes forever without yielding silence
               a heartbeat that wants to print every 1 ms? (the lesson's starvation plot)

runtime is one of: python_threads, python_generators, asyncio, greenlet, gevent, lua, go,
erlang, rust_async, java_platform, java_virtual, kotlin, scala_actors. Any other value raises
ValueError with a message naming the valid ones. Each call returns a new dict: changing it
changes nothing for the next call.

    >>> classify("go")["preemption"]
    'signal'
"""

from __future__ import annotations

RUNTIMES = ("python_threads", "python_generators", "asyncio", "greenlet", "gevent", "lua", "go", "erlang",
            "rust_async", "java_platform", "java_virtual", "kotlin", "scala_actors")
AXES = ("stackful", "transfer", "scheduler", "preemption", "coloured", "hog_starves")


def classify(runtime: str) -> dict:
    """The six axes of `runtime`, as a new dict."""
    ### BEGIN SOLUTION 12.3
    ANSWERS = {
        # OS threads (threading, CPython 3.11-3.15): the kernel schedules them; the GIL holder is asked to
        # drop it every sys.getswitchinterval() (5 ms; Python/ceval_gil.c, take_gil / drop_gil), so a hog
        # in Python code cannot silence another thread.
        "python_threads": (True, "scheduled", "os", "gil_interval", False, False),
        # PEP 255 / PEP 342: a generator is one suspended frame (stackless) that yields only to its caller
        # (asymmetric); PEP 380's `yield from` must appear at every level that suspends, which colours the
        # whole chain. No scheduler, no preemption: a loop that never yields keeps the thread.
        "python_generators": (False, "asymmetric", "none", "none", True, True),
        # PEP 492: async def / await, coroutines are frames driven by the loop's Task.__step
        # (Lib/asyncio/tasks.py); only await suspends, so a CPU loop blocks the loop (asyncio docs,
        # "Developing with asyncio": running blocking code).
        "asyncio": (False, "asymmetric", "loop", "none", True, True),
        # greenlet 3.x: each greenlet has its own C and Python stack slice (src/greenlet/TGreenlet.cpp,
        # the stack copying), and g.switch() jumps to any greenlet named (symmetric); no scheduler.
        "greenlet": (True, "symmetric", "none", "none", False, True),
        # gevent 26.9 (the course's): greenlets switched by the hub (gevent/hub.py, Hub.switch and the
        # libev/libuv loop); monkey-patched blocking calls switch to the hub, a pure-CPU loop never does.
        "gevent": (True, "symmetric", "loop", "none", False, True),
        # Lua 5.4 reference manual section 2.6: coroutines are stackful (yield from nested calls,
        # lcorolib.c / ldo.c lua_resume) and asymmetric: coroutine.yield returns to coroutine.resume.
        "lua": (True, "asymmetric", "none", "none", False, True),
        # Go 1.14 release notes "goroutines are now asynchronously preemptible": sysmon's retake ->
        # preemptone -> preemptM sends SIGURG (src/runtime/proc.go, signal_unix.go); M:N over GOMAXPROCS Ps.
        "go": (True, "scheduled", "m_n", "signal", False, False),
        # BEAM (OTP 25, the course's): each process has its own stack and heap, N schedulers each run many
        # processes, and one is scheduled out after CONTEXT_REDS = 4000 reductions (erts/emulator/beam/erl_vm.h).
        "erlang": (True, "scheduled", "m_n", "reductions", False, False),
        # Rust (1.63 to 1.95): an async fn compiles to a state machine (stackless) polled by an executor's
        # loop (core::future::Future::poll); .await returns control only to the poller; async is a colour.
        "rust_async": (False, "asymmetric", "loop", "none", True, True),
        # JEP 444: "a platform thread is implemented as a thin wrapper around an OS thread"; the kernel
        # time-slices it.
        "java_platform": (True, "scheduled", "os", "os_timeslice", False, False),
        # JEP 444 (Java 21): virtual threads are stackful, mounted on carrier threads of a ForkJoinPool
        # (M:N); "the scheduler does not currently implement time sharing", so a hog keeps its carrier.
        "java_virtual": (True, "scheduled", "m_n", "none", False, True),
        # Kotlin coroutines (KEEP proposals/coroutines.md): suspend functions are CPS-transformed state
        # machines (stackless); only a suspend function may call one (colour); a dispatcher's loop
        # resumes them; cooperative only (kotlinx.coroutines docs, "Cancellation is cooperative").
        "kotlin": (False, "asymmetric", "loop", "none", True, True),
        # Scala 2.7-2.10 actors (scala.actors, react-based): react never returns, the rest of the actor
        # is a closure run by the actor scheduler's thread pool - no stack kept, the scheduler decides,
        # and an actor that never reaches react keeps its pool thread (one thread: everything starves).
        "scala_actors": (False, "scheduled", "m_n", "none", False, True),
    }
    if runtime not in ANSWERS:
        raise ValueError(f"unknown runtime {runtime!r}; the runtimes are: {', '.join(RUNTIMES)}")
    return dict(zip(AXES, ANSWERS[runtime]))
    ### END SOLUTION
