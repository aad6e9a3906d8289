"""lessons: the code the lessons read and run, apart from the course machinery (``coursekit``).

One module per topic; a notebook imports what it teaches with, and a learner can open the
module beside the lesson:

  probe.py         run a measurement in a fresh interpreter and read its JSON (every lesson)
  machine.py       is the machine quiet enough to measure on? (every measuring lesson)
  widgets.py       show an ipywidgets control with a stored-notebook fallback that says to run it
  plotting.py      the house style for plots and the shared plot helpers (every lesson)
  costs.py         lesson 01: memory, creation, switch and makespan costs of processes,
                   threads and coroutines
  gil_lab.py       lesson 02: the GIL probes (scaling, I/O, convoy, hand-off traces, races)
  gilsim.py        lesson 02: a discrete-event model of the GIL hand-off
  freethreaded.py  lesson 02: find and run the free-threaded CPython that `make freethreaded`
                   builds
  readiness.py, c10k.py, loopback.py
                   lesson 03: readiness costs, the c10k servers, loopback fixtures
  eventloop.py     lessons 04-07: the teaching event loop; from lesson 06 it runs real asyncio
  loop_viz.py, asyncio_probe.py, landscape.py
                   lesson 04: the loop stepper, asyncio's loop instrumented, the library timeline
  generators.py, coro_sched.py
                   lesson 05: generator surveys and a first coroutine scheduler
  aiorun.py        lessons 06-07: run an asyncio program on any loop from a notebook cell
  toy500.py        lesson 06: the 500 Lines toy Future and Task, their bugs, and the fixed pair
  task_trace.py    lesson 06: asyncio's own Task traced beside the course's; first step, cancel
  linksite.py      lesson 06: a local web site with cycles, a redirect and a slow page
  asyncio_internals.py
                   lesson 07: a live call trace, the accept backlog and EMFILE back-off, the
                   version map and the policy history
  modern_asyncio.py, wedged_service.py
                   lesson 07: the modern API as experiments; a deadlocked service for ps/pstree
  virtual_time.py  lesson 07: an asyncio loop whose clock jumps (deterministic timeouts)
  pythons.py       lessons 02-09: the one finder of other interpreters (3.13t, Debian's 3.15)
  stackful.py      lesson 08: greenlet's switch/parent/throw traced, memory per suspended
                   greenlet vs depth, switch costs
  gevent_lab.py, both_ways.py
                   lesson 08: gevent's hub, loops, patching and freezes; one program stackful
                   and stackless
  landscape_runs.py
                   lesson 08: uvloop, Sanic, tornado, curio, trio and meinheld, run
  multicore.py     lesson 09: one loop one core, offloading, the bridges, pickling, start
                   methods, after the GIL
  fib_service.py   lesson 09: the fib service four ways, pre-fork spreading, the plot
  channels.py      lesson 10: Go's channels (unbuffered, buffered, close, select) on threads
                   and on the teaching event loop
  gmp_sim.py       lessons 10-11: a G-M-P scheduler simulator after Go 1.27's runtime,
                   printing schedtrace lines in Go's format; its stepper and timeline
  golang.py, go/   lessons 10-11: the Go toolchains `make go` installs, the lessons' Go
                   programs, their runs, and quotes of the runtime's own source
  units.py         lessons 10-11: kernel threads and memory per thread, task and greenlet

Nothing here imports ``coursekit``, and ``coursekit`` imports nothing from here: the grader's
bundle ships the machinery only.
"""
