"""Lessons 00, 02, 03, 04, 06, 09, 10 and 12 in JupyterLab in a real browser, as a learner uses them (`make browser`).

Each lesson is opened in the course's JupyterLab (served from a temporary copy of the course),
Edit > Clear Outputs of All Cells, then Run > Run All Cells runs it in a fresh kernel; then:
no cell shows an error or unexpected stderr, every code cell ran, no notification toast covers
the page (the course's settings overrides turn the news question off), and the page only talked
to the server on 127.0.0.1. Lesson 00: `check("00.1")` shows ✗ lines on the stub, and ✓ lines
once the exercise file is saved solved. Lesson 02: a matplotlib plot renders, and the
ipywidgets slider renders and its value reaches the kernel (moving it redraws the plot the
kernel draws). Lesson 03: the c10k plot renders. Lesson 04: the loop stepper renders, and each
click on its "next pass" button reaches the kernel, which redraws the loop's state. Lesson 06:
its loops run inside the kernel's own (they run in threads of their own) and the stack-depth
plot renders. Lesson 09: its process pools and pre-forked servers run from the kernel, and the
fib-service plot renders in its own cell. Lesson 10: real Go runs from the kernel, the G-M-P
timeline renders, and each click on the G-M-P stepper's "step" button reaches the kernel, which
redraws the simulator's state. Lesson 12: the other languages' programs run from the kernel,
the hand-off, starvation and capstone plots render each in its own cell, and check() shows ✗
lines for the unwritten exercises. Each test
leaves a screenshot of its lesson in its pytest tmp dir.

Elements are found by JupyterLab's and ipywidgets' classes, not by lesson text, so that
editing a lesson does not break the test.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_lab import REPO_OVERRIDES, VENV_OVERRIDES, Lab, serve

ERROR_OUTPUTS = (".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
                 ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
#: stderr that a lesson run may show and that is harmless. Every other stderr or error output
#: (a traceback is one) fails the test. Empty: none was seen (CPython 3.11.7, JupyterLab 4.6.6).
ALLOWED_STDERR: list[re.Pattern[str]] = []
TOASTS = ".Toastify__toast"          # JupyterLab 4's notifications (the news question is one)
RUN_ALL = "li.lm-Menu-item[data-command='runmenu:run-all']"
CLEAR_ALL = "li.lm-Menu-item[data-command='editmenu:clear-all']"

# Generous bounds: they only stop a hung run. Lesson 02 measures for about a minute on an idle
# 2-core machine, about twice that with both cores busy.
KERNEL_START_S = 120
RUN_ALL_S = {"00_start_here": 240, "02_gil": 480, "03_selectors": 480, "04_event_loop": 240,
             "06_futures_tasks": 300, "09_multicore": 480, "10_goroutines": 300,
             "12_coroutine_models": 600}


class Notebook:
    """One lesson open in its own browser page."""

    def __init__(self, page: Any, lab: Lab, lesson: str, tmp_path: Path) -> None:
        self.page, self.lab, self.lesson, self.tmp_path = page, lab, lesson, tmp_path
        self.requests: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.set_default_timeout(60_000)
        self.saved = lab.get_json(f"/api/contents/notebooks/{lesson}.ipynb")["content"]["cells"]
        page.goto(f"{lab.url}/lab/tree/notebooks/{lesson}.ipynb?reset")
        # JupyterLab renders the cells a few at a time: wait for all of them
        self.wait("(n) => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n",
                  KERNEL_START_S, f"all {len(self.saved)} cells rendered", arg=len(self.saved))
        self.wait_idle(KERNEL_START_S, "the kernel started")

    def seen(self, predicate: str, timeout_s: float, arg: Any = None) -> bool:
        """Whether the JavaScript `predicate` holds within `timeout_s`."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        try:
            self.page.wait_for_function(predicate, arg=arg, timeout=timeout_s * 1000, polling=250)
            return True
        except PlaywrightTimeout:
            return False

    def wait(self, predicate: str, timeout_s: float, what: str, arg: Any = None) -> None:
        """Wait until `predicate` holds; past `timeout_s`, fail saying `what` did not happen,
        with the cells' prompts and a screenshot (failure.png in the tmp dir)."""
        if not self.seen(predicate, timeout_s, arg):
            self.page.screenshot(path=str(self.tmp_path / "failure.png"))
            pytest.fail(f"{self.lesson}: not seen within {timeout_s:.0f} s: {what}; prompts: {self.prompts()}; "
                        f"screenshot: {self.tmp_path / 'failure.png'}\nserver log:\n{self.lab.log_tail(15)}",
                        pytrace=False)

    def wait_idle(self, timeout_s: float, what: str) -> None:
        """Until the kernel is idle and no cell is queued or running (prompt [*])."""
        self.wait("""() => {
                const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
                const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
                return status && status.getAttribute('data-status') === 'idle'
                    && !prompts.some(p => p.textContent.includes('*'));
            }""", timeout_s, what)

    def menu(self, menu: str, item: str) -> None:
        """Choose `item` of the menu bar's `menu`, with the lesson's tab active (the notebook
        commands are disabled while another widget is current)."""
        self.page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").click()
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
        entry = self.page.locator(item)
        entry.wait_for(state="visible")
        entry.click()
        self.page.locator(".lm-Menu").wait_for(state="hidden")

    def choose_until(self, menu: str, item: str, predicate: str, what: str) -> None:
        """Choose a menu item until `predicate` shows it took effect. A command's effect on the
        prompts is immediate, so one that shows nothing in 20 s was lost (a click that landed
        while the page was busy) and is chosen again, at most three times in all."""
        for _ in range(2):
            self.menu(menu, item)
            if self.seen(predicate, 20):
                return
        self.menu(menu, item)
        self.wait(predicate, 60, what)

    def clear_and_run_all(self) -> float:
        """Clear every output (stored outputs must not pass for new ones), Run All Cells, and
        wait until the run is over; return its seconds. A cell that raises ends the run: the
        kernel skips the cells after it."""
        prompts = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
        self.choose_until("Edit", CLEAR_ALL, f"() => !{prompts}.some(p => /\\d/.test(p.textContent))",
                          "the outputs cleared")
        start = time.monotonic()
        self.choose_until("Run", RUN_ALL, f"() => {prompts}.some(p => /\\d|\\*/.test(p.textContent))",
                          "Run All started")
        self.wait_idle(RUN_ALL_S[self.lesson], "Run All finished")
        return time.monotonic() - start

    def prompts(self) -> list[str]:
        return self.page.eval_on_selector_all(".jp-Notebook .jp-CodeCell .jp-InputPrompt",
                                              "ps => ps.map(p => p.textContent.trim())")

    def outputs(self, selector: str) -> list[tuple[int, str]]:
        """(cell number from 1, text) of every output matching `selector`, widgets' included.
        textContent, not innerText: cells out of view are not laid out, and their innerText is empty."""
        return self.page.eval_on_selector_all(
            ".jp-Notebook .jp-Cell",
            "(cells, sel) => cells.flatMap((c, i) => [...c.querySelectorAll(sel)].map(o => [i + 1, o.textContent]))",
            selector)

    def assert_clean(self) -> None:
        """Every code cell ran, and none shows an error or unexpected stderr."""
        bad = [(cell, text) for cell, text in self.outputs(ERROR_OUTPUTS)
               if not any(p.search(text) for p in ALLOWED_STDERR)]
        assert not bad, f"{self.lesson}: error or stderr output in " + "; ".join(
            f"cell {cell}: {text.strip()[:600]}" for cell, text in bad)
        not_run = [i + 1 for i, p in enumerate(self.prompts()) if not re.fullmatch(r"\[\d+\]:", p)]
        assert not not_run, f"{self.lesson}: code cells {not_run} (by order) did not run"

    def assert_no_toasts(self) -> None:
        toasts = self.page.eval_on_selector_all(TOASTS, "ts => ts.map(t => t.textContent)")
        assert not toasts, f"{self.lesson}: notifications cover the page: {toasts}"

    def assert_only_local_traffic(self) -> None:
        away = [u for u in self.requests if not u.startswith((self.lab.url + "/", "data:", "blob:"))]
        assert not away, f"{self.lesson}: the page asked for something not served by JupyterLab: {away[:5]}"

    def cell(self, source_part: str) -> Any:
        """The cell whose source contains `source_part`, by its place in the notebook file
        (rendering leaves the editors of cells out of view empty, so the DOM cannot tell)."""
        found = [i for i, c in enumerate(self.saved) if c["cell_type"] == "code" and source_part in c["source"]]
        assert found, f"{self.lesson}: no code cell contains {source_part!r}"
        return self.page.locator(".jp-Notebook .jp-Cell").nth(found[0])

    def run_cell(self, cell: Any) -> None:
        """Run one cell again, as Ctrl+Enter does, and wait for it to finish."""
        before = cell.locator(".jp-InputPrompt").text_content()
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Control+Enter")
        cell.locator(".jp-InputPrompt").filter(has_not_text=before).wait_for()
        self.wait_idle(120, "the cell ran")

    def screenshot(self, path: Path, cell: Any) -> None:
        cell.scroll_into_view_if_needed()
        self.page.screenshot(path=str(path))
        print(f"screenshot: {path}")


@pytest.fixture
def open_lesson(browser: Any, lab: Lab, tmp_path: Path) -> Iterator:
    contexts = []

    def open_(lesson: str) -> Notebook:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        return Notebook(context.new_page(), lab, lesson, tmp_path)

    yield open_
    for context in contexts:
        context.close()


def test_the_course_settings_overrides_are_installed_and_read(lab: Lab) -> None:
    """JupyterLab reads the venv's copy of jupyter/overrides.json (make venv installs it)."""
    assert VENV_OVERRIDES.is_file() and json.loads(VENV_OVERRIDES.read_text()) == json.loads(REPO_OVERRIDES.read_text()), \
        f"{VENV_OVERRIDES} is not a copy of {REPO_OVERRIDES}: run make venv"
    # the server applies overrides to the schema's defaults; the page then uses those
    schema = lab.get_json("/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
    defaults = {name: spec.get("default") for name, spec in schema["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults


def test_without_the_course_settings_jupyterlab_asks_about_news(browser: Any, course_copy: Path,
                                                                 tmp_path: Path) -> None:
    """The control for the no-toast checks below: with no overrides, the news question shows."""
    empty = tmp_path / "no-overrides"
    empty.mkdir()
    with serve(course_copy, tmp_path / "state", f"--LabApp.app_settings_dir={empty}") as plain:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.goto(f"{plain.url}/lab/tree/notebooks/00_start_here.ipynb?reset")
            page.wait_for_selector(TOASTS, timeout=90_000)
        finally:
            context.close()


def test_lesson_00_runs_clean_and_check_shows_ticks_once_the_exercise_is_saved_solved(
        open_lesson: Any, lab: Lab, tmp_path: Path) -> None:
    nb = open_lesson("00_start_here")
    seconds = nb.clear_and_run_all()
    print(f"00_start_here: Run All took {seconds:.1f} s")
    nb.assert_clean()

    check = nb.cell('check("00.1")')
    stub = check.locator(".jp-OutputArea").text_content()
    assert re.search(r"(?m)^\s*✗", stub) and "✓" not in stub, f"check on the stub:\n{stub}"

    # the learner's save, as the file lands on disk
    shutil.copy(lab.root / "solutions" / "00_start_here" / "warmup.py",
                lab.root / "exercises" / "00_start_here" / "warmup.py")
    nb.run_cell(check)
    solved = check.locator(".jp-OutputArea").text_content()
    assert re.search(r"(?m)^\s*✓", solved) and "✗" not in solved, f"check on the solution:\n{solved}"
    nb.assert_clean()
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-00.png", check)


@pytest.mark.timeout(720)
def test_lesson_02_runs_clean_draws_plots_and_its_slider_reaches_the_kernel(
        open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("02_gil")
    seconds = nb.clear_and_run_all()
    print(f"02_gil: Run All took {seconds:.1f} s")
    nb.assert_clean()

    plots = nb.page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='image/png'] img",
        "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0 && !i.closest('.jupyter-widgets')).length")
    assert plots >= 1, "02_gil: no matplotlib plot rendered outside the widget"

    widget = nb.page.locator(".jp-Notebook .jp-Cell", has=nb.page.locator(".widget-slider")).first
    widget.scroll_into_view_if_needed()
    slider = widget.locator(".widget-slider .noUi-handle").first
    slider.wait_for(state="visible")
    drawn = widget.locator(".widget-output img")
    drawn.first.wait_for(state="visible")
    before = drawn.first.get_attribute("src")

    at_max = slider.get_attribute("aria-valuenow") == slider.get_attribute("aria-valuemax")
    slider.focus()
    nb.page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    # the kernel reads the new value and draws a new plot into the widget's output
    nb.wait("""([cell, before]) => [...cell.querySelectorAll('.widget-output img')]
                   .some(i => i.complete && i.naturalWidth > 0 && i.getAttribute('src') !== before)""",
            120, "the widget's plot redrawn by the kernel after the slider moved",
            arg=[widget.element_handle(), before])
    nb.wait_idle(120, "the redraw finished")
    nb.assert_clean()
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-02.png", widget)


def rendered_plots(nb: Notebook) -> int:
    """How many matplotlib images outside widgets have loaded in the page."""
    return nb.page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='image/png'] img",
        "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0 && !i.closest('.jupyter-widgets')).length")

def images_in(cell: Any) -> int:
    """How many matplotlib images have loaded in one cell's output."""
    return cell.evaluate("c => [...c.querySelectorAll(\".jp-OutputArea-output[data-mime-type='image/png'] img\")]"
                         ".filter(i => i.complete && i.naturalWidth > 0).length")


@pytest.mark.timeout(720)
def test_lesson_03_runs_clean_and_draws_its_plots(open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("03_selectors")
    seconds = nb.clear_and_run_all()
    print(f"03_selectors: Run All took {seconds:.1f} s")
    nb.assert_clean()
    # the selector-cost plot and the c10k plot
    assert rendered_plots(nb) >= 2, "03_selectors: the selector-cost and c10k plots did not both render"
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-03.png", nb.cell("c10k.run_c10k"))


@pytest.mark.timeout(480)
def test_lesson_04_runs_clean_and_its_stepper_steps_the_loop(open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("04_event_loop")
    seconds = nb.clear_and_run_all()
    print(f"04_event_loop: Run All took {seconds:.1f} s")
    nb.assert_clean()
    assert rendered_plots(nb) >= 2, "04_event_loop: the timeline and landscape plots did not both render"

    cell = nb.cell("loop_viz.Stepper")
    cell.scroll_into_view_if_needed()
    state = cell.locator(".loop-stepper-state").first
    state.wait_for(state="visible")
    button = cell.locator("button", has_text=re.compile("next pass")).first
    for click in range(3):
        before = state.text_content()
        button.click()
        # the kernel runs one pass and redraws the state: the text must change each time
        nb.wait("([el, before]) => el.textContent !== before", 60,
                f"the stepper's state redrawn after click {click + 1}", arg=[state.element_handle(), before])
    nb.wait_idle(60, "the passes finished")
    nb.assert_clean()
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-04.png", cell)


def test_lesson_06_runs_clean_and_draws_its_stack_depth_plot(open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("06_futures_tasks")
    seconds = nb.clear_and_run_all()
    print(f"06_futures_tasks: Run All took {seconds:.1f} s")
    nb.assert_clean()
    assert rendered_plots(nb) >= 1, "06_futures_tasks: the stack-depth plot did not render"
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-06.png", nb.cell("toy500.stack_depths()"))


def test_lesson_09_runs_clean_and_draws_the_fib_service_plot(open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("09_multicore")
    seconds = nb.clear_and_run_all()
    print(f"09_multicore: Run All took {seconds:.1f} s")
    nb.assert_clean()
    fib = nb.cell("fs.plot(results)")
    loaded = images_in(fib)
    assert loaded == 1, f"09_multicore: the fib-service plot did not render in its cell ({loaded} images)"
    assert rendered_plots(nb) >= 2, "09_multicore: the speed-up plot did not render"
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-09.png", fib)


@pytest.mark.timeout(480)
def test_lesson_10_runs_clean_and_its_gmp_stepper_steps_the_simulator(open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("10_goroutines")
    seconds = nb.clear_and_run_all()
    print(f"10_goroutines: Run All took {seconds:.1f} s")
    nb.assert_clean()
    assert rendered_plots(nb) >= 1, "10_goroutines: the G-M-P timeline did not render"

    cell = nb.cell("gmp_sim.stepper()")
    cell.scroll_into_view_if_needed()
    state = cell.locator(".gmp-stepper-state").first
    state.wait_for(state="visible")
    button = cell.locator("button", has_text=re.compile(r"^\s*step\s*$")).first
    for click in range(3):
        before = state.text_content()
        button.click()
        # the kernel runs one scheduling event and redraws the state: the text must change
        nb.wait("([el, before]) => el.textContent !== before", 60,
                f"the stepper's state redrawn after click {click + 1}", arg=[state.element_handle(), before])
    nb.wait_idle(60, "the steps finished")
    nb.assert_clean()
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-10.png", cell)



@pytest.mark.timeout(900)
def test_lesson_12_runs_clean_and_draws_every_runtimes_plots(open_lesson: Any, tmp_path: Path) -> None:
    nb = open_lesson("12_coroutine_models")
    seconds = nb.clear_and_run_all()
    print(f"12_coroutine_models: Run All took {seconds:.1f} s")
    nb.assert_clean()
    for source, what in (("polyglot.plot_handoffs(pipelines)", "the hand-off plot"),
                         ("polyglot.plot_starvation(starved)", "the starvation plot"),
                         ("capstone.plot(reference)", "the capstone plot")):
        assert images_in(nb.cell(source)) == 1, f"12_coroutine_models: {what} did not render in its cell"
    stub = nb.cell('check("12.1")').locator(".jp-OutputArea").text_content()
    crosses = len(re.findall(r"(?m)^\s*✗", stub))
    assert crosses >= 10 and "✓" not in stub, f"check(\"12.1\") on the stub should show a ✗ per test:\n{stub}"
    nb.assert_no_toasts()
    nb.assert_only_local_traffic()
    nb.screenshot(tmp_path / "lesson-12.png", nb.cell("polyglot.plot_starvation(starved)"))
