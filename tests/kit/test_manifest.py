"""course.yml: validated by a schema plus the rules a schema cannot say; errors are one line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coursekit.errors import CourseError
from coursekit.manifest import load_course

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, data) -> Path:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    (tmp_path / "course.yml").write_text(text)
    return tmp_path


def base() -> dict:
    return yaml.safe_load((ROOT / "course.yml").read_text())


def test_the_course_loads():
    course = load_course(ROOT)
    assert [m.id for m in course.modules][:2] == ["00_start_here", "01_processes_threads"]
    assert course.task("01.2").file == "start_methods.py"


def mutate(path, value):
    def apply(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return data
    return apply


DELETE = object()


@pytest.mark.parametrize("change, message", [
    (mutate(["modules", 1, "id"], "1_processes"), r"modules\[1\]\.id must match pattern"),
    (mutate(["modules", 1, "tasks", 0, "points"], "three"), r"modules\[1\]\.tasks\[0\]\.points must be number \(in module 01_processes_threads\)"),
    (mutate(["modules", 0, "title"], DELETE), r"modules\[0\] must contain \['title'\] properties \(in module 00_start_here\)"),
    (mutate(["modules", 1, "tasks", 0, "id"], "02.1"), r"task id must start with 01\."),
    (mutate(["modules", 1, "tasks", 1, "id"], "01.1"), r"used twice"),
    (mutate(["modules", 1, "tasks", 0, "file"], "selectors.py"), r"would shadow the module 'selectors'"),
    (mutate(["modules", 1, "tasks", 1, "file"], "cost_model.py"), r"file cost_model.py is task 01.1's too"),
    (mutate(["modules", 1, "prerequisites"], ["05_generators"]), r"prerequisite '05_generators'"),
    (mutate(["modules", 0, "extra"], 1), r"modules\[0\] must not contain \{'extra'\} properties"),
    (mutate(["call_timeout"], -1), r"call_timeout"),
])
def test_bad_manifest_names_the_entry(tmp_path, change, message):
    root = write(tmp_path, change(base()))
    with pytest.raises(CourseError, match=message) as info:
        load_course(root)
    assert "\n" not in str(info.value) and "course.yml" in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("modules: [\n", r"line \d+: not valid YAML"),
    ("- just a list\n", r"the top level must be object"),
    ("", r"the top level must be object"),
])
def test_broken_yaml_is_one_line(tmp_path, text, message):
    with pytest.raises(CourseError, match=message):
        load_course(write(tmp_path, text))


def test_cli_turns_errors_into_one_line_and_exit_2(tmp_path):
    data = base()
    data["modules"][1]["tasks"][0]["difficulty"] = 9
    write(tmp_path, data)
    result = subprocess.run([sys.executable, "-m", "coursekit", "syllabus"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "difficulty" in result.stderr and "Traceback" not in result.stderr


def test_syllabus_json_contract():
    out = subprocess.run([sys.executable, "-m", "coursekit", "syllabus", "--json"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    modules = json.loads(out)["modules"]
    for m in modules:
        assert {"id", "title", "notebook", "exercise_files", "solution_files", "tasks"} <= m.keys()
        assert m["notebook"] == f"notebooks/{m['id']}.ipynb"
        for t in m["tasks"]:
            assert {"id", "title", "points", "file"} <= t.keys()
            assert t["file"] in m["exercise_files"]
