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

Nothing here imports ``coursekit``, and ``coursekit`` imports nothing from here: the grader's
bundle ships the machinery only.
"""
