"""Where strategies come from (docs/strategies.md): built-ins, entry points and folders, and the errors users see."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from batchctl import registry
from batchctl.builtin.noop import NoopStrategy
from batchctl.errors import StrategyLoadError
from batchctl.strategy import BatchJobStrategy
from tests.conftest import Backend

FOLDER_NOOP = '''
from batchctl import BatchJobStrategy, Job


class FolderNoop(BatchJobStrategy):
    """A noop that leaves a mark, so a test can tell it ran instead of the built-in."""

    identifier = "folder-noop"
    batch_type = "noop"

    def pre_process(self, job: Job) -> None:
        job.set_count(1)

    def process(self, job: Job) -> None:
        job.set_result(marker="from the folder strategy")
        job.advance(1)
'''


def strategy_source(batch_type: str, class_name: str = "Strategy") -> str:
    return textwrap.dedent(f"""
        from batchctl import BatchJobStrategy


        class {class_name}(BatchJobStrategy):
            batch_type = "{batch_type}"
        """)


def folder_with(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file_name, source in files.items():
        (folder / file_name).write_text(source, encoding="utf-8")
    return folder


def only_line(stderr: str) -> str:
    """The one line an error must be: no traceback, no second line."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_strategy_without_a_docstring_has_no_description(tmp_path: Path) -> None:
    # inspect.getdoc() falls back to the base class's docstring, which describes BatchJobStrategy itself.
    folder = folder_with(tmp_path, "mine", {"plain.py": strategy_source("plain")})
    assert registry.load_registry([tmp_path / "absent", folder], entry_points=False).get("plain").description == ""


def test_the_description_is_the_first_line_of_the_docstring(tmp_path: Path) -> None:
    source = strategy_source("documented").replace(
        'batch_type = "documented"', '"""Publishes things.\n\n    At length."""\n\n    batch_type = "documented"'
    )
    folder = folder_with(tmp_path, "mine", {"documented.py": source})
    info = registry.load_registry([tmp_path / "absent", folder], entry_points=False).get("documented")
    assert info.description == "Publishes things."


# -- folders overriding built-ins ------------------------------------------------------------------------------


def test_a_folder_strategy_overrides_the_builtin_of_its_type(backend: Backend, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "mine", {"noop_override.py": FOLDER_NOOP})
    env = {"BATCHCTL_STRATEGIES": str(folder)}

    listed = backend.cli("strategies", "--json", env=env)

    assert listed.code == 0, listed.stderr
    by_type = {entry["type"]: entry for entry in listed.json()["strategies"]}
    assert by_type["noop"]["identifier"] == "folder-noop"
    assert by_type["noop"]["source"] == f"folder {folder}"
    assert by_type["noop"]["origin"] == str(folder / "noop_override.py")
    [overridden] = [entry for entry in listed.json()["overridden"] if entry["type"] == "noop"]
    assert overridden["source"] == "built-in"
    assert overridden["identifier"] == "noop-strategy"


def test_the_strategies_listing_shows_every_source(backend: Backend) -> None:
    # A real process, run from the test's own directory: no ./strategies there, only BATCHCTL_STRATEGIES.
    listed = backend.run("strategies", "--json")
    assert listed.code == 0, listed.stderr
    entries = {entry["type"]: entry for entry in listed.json()["strategies"]}
    assert entries["noop"]["source"] == "built-in"
    assert entries["noop"]["origin"] == "batchctl.builtin.noop"
    assert entries["test-picky"]["source"] == f"folder {Path(__file__).parent.parent / 'strategies'}"
    assert entries["publish-products"]["origin"].endswith("publish_products.py")
    assert listed.json()["overridden"] == []


def test_a_folder_named_twice_does_not_override_itself(tmp_path: Path) -> None:
    # Running from a project with BATCHCTL_STRATEGIES=$PWD/strategies names ./strategies twice; the
    # listing must not then claim that publish-products overrides publish-products.
    folder = folder_with(tmp_path, "mine", {"one.py": strategy_source("once")})
    loaded = registry.load_registry([folder, folder], entry_points=False)
    assert loaded.get("once").origin == str(folder / "one.py")
    assert loaded.overridden == []


def test_a_job_of_an_overridden_type_runs_the_folder_strategy(backend: Backend, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "mine", {"noop_override.py": FOLDER_NOOP})
    env = {"BATCHCTL_STRATEGIES": str(folder)}
    created = backend.cli("create", "--type", "noop", "-q", env=env)
    assert created.code == 0, created.stderr
    job_id = created.stdout.strip()

    burst = backend.run("worker", "--burst", env=env, timeout=120)

    assert burst.code == 0, burst.stderr
    job = backend.cli("show", job_id, "--json").json()
    assert job["status"] == "completed"
    assert job["result"]["marker"] == "from the folder strategy"
    # The built-in noop's pre_process would have added its "items" stat; the folder one adds none.
    assert job["result"]["stat_descriptors"] == []
    assert job["result"]["count"] == 1


# -- errors in strategy folders --------------------------------------------------------------------------------


def test_two_strategies_of_one_type_in_one_folder_are_refused_naming_both_files(
    backend: Backend, tmp_path: Path
) -> None:
    folder = folder_with(
        tmp_path, "clash", {"first.py": strategy_source("dup", "First"), "second.py": strategy_source("dup", "Second")}
    )

    listed = backend.cli("strategies", "--json", env={"BATCHCTL_STRATEGIES": str(folder)})

    assert listed.code == 2
    line = only_line(listed.stderr)
    assert line.startswith("error: ")
    assert str(folder / "first.py") in line and str(folder / "second.py") in line
    assert "'dup'" in line
    assert listed.stdout == ""


def test_the_same_type_in_two_folders_is_an_override_not_a_clash(backend: Backend, tmp_path: Path) -> None:
    first = folder_with(tmp_path, "a", {"one.py": strategy_source("shared", "One")})
    second = folder_with(tmp_path, "b", {"two.py": strategy_source("shared", "Two")})
    env = {"BATCHCTL_STRATEGIES": f"{first}:{second}"}

    listed = backend.cli("strategies", "--json", env=env)

    assert listed.code == 0, listed.stderr
    [shared] = [e for e in listed.json()["strategies"] if e["type"] == "shared"]
    assert shared["source"] == f"folder {second}"  # later paths win
    assert [e["source"] for e in listed.json()["overridden"] if e["type"] == "shared"] == [f"folder {first}"]


BROKEN = """
from batchctl import BatchJobStrategy

raise RuntimeError("the config server is down")
"""


@pytest.mark.parametrize("command", [("strategies", "--json"), ("create", "--type", "noop", "-q")])
def test_a_strategy_file_that_fails_to_import_is_one_line_exit_2(
    backend: Backend, tmp_path: Path, command: tuple[str, ...]
) -> None:
    folder = folder_with(tmp_path, "broken", {"broken.py": BROKEN})

    result = backend.cli(*command, env={"BATCHCTL_STRATEGIES": str(folder)})

    assert result.code == 2
    line = only_line(result.stderr)
    assert str(folder / "broken.py") in line
    assert "RuntimeError: the config server is down" in line


def test_a_strategy_import_error_in_a_real_process_prints_no_traceback(backend: Backend, tmp_path: Path) -> None:
    # The in-process CLI call cannot see what Python prints on its way out; a real process can.
    folder = folder_with(tmp_path, "broken", {"broken.py": "import batchctl_no_such_module\n"})

    result = backend.run("strategies", env={"BATCHCTL_STRATEGIES": str(folder)})

    assert result.code == 2
    line = only_line(result.stderr)
    assert str(folder / "broken.py") in line
    assert "ModuleNotFoundError" in line and "batchctl_no_such_module" in line


def test_a_syntax_error_in_a_strategy_file_is_one_line_exit_2(backend: Backend, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "broken", {"typo.py": "class Oops(:\n"})
    result = backend.cli("strategies", env={"BATCHCTL_STRATEGIES": str(folder)})
    assert result.code == 2
    line = only_line(result.stderr)
    assert str(folder / "typo.py") in line and "SyntaxError" in line


def test_a_missing_strategies_path_is_exit_2(backend: Backend, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    result = backend.cli("strategies", env={"BATCHCTL_STRATEGIES": str(missing)})
    assert result.code == 2
    line = only_line(result.stderr)
    assert str(missing) in line


def test_commands_that_need_no_strategies_still_work_with_a_broken_folder(backend: Backend, tmp_path: Path) -> None:
    # `show`/`list` run in shell loops; a broken strategy file must not take them down with it.
    folder = folder_with(tmp_path, "broken", {"broken.py": BROKEN})
    listed = backend.cli("list", "--json", env={"BATCHCTL_STRATEGIES": str(folder)})
    assert listed.code == 0, listed.stderr
    assert listed.json()["count"] == 0


# -- create: unknown types and refused contexts ----------------------------------------------------------------


def test_an_unknown_type_at_create_is_exit_2_and_lists_the_known_types(backend: Backend) -> None:
    result = backend.cli("create", "--type", "product-imprt", "-q")

    assert result.code == 2
    line = only_line(result.stderr)
    assert "Unable to find a BatchJob strategy with the type product-imprt" in line
    for known in ("noop", "publish-products", "test-chunks", "test-fail", "test-picky"):
        assert known in line
    assert backend.cli("list", "--json").json()["count"] == 0


@pytest.mark.parametrize("context", [("-c", "name=5"), ("--context", "{}"), ("--context", '{"name": ["x"]}')])
def test_a_context_refused_by_prepare_is_exit_2_and_creates_no_row(backend: Backend, context: tuple[str, str]) -> None:
    result = backend.cli("create", "--type", "test-picky", *context, "-q")

    assert result.code == 2
    line = only_line(result.stderr)
    assert line == "error: invalid context for test-picky: 'name' is required and must be a string"
    assert result.stdout == ""
    listed = backend.cli("list", "--json")
    assert listed.json()["count"] == 0
    assert listed.json()["batch_jobs"] == []


def test_a_key_error_in_prepare_is_a_bug_not_bad_input(backend: Backend) -> None:
    result = backend.cli("create", "--type", "test-buggy-prepare", "-q")

    assert result.code == 1
    line = only_line(result.stderr)
    assert line.startswith("error: unexpected KeyError: 'name'"), line
    assert "invalid context" not in line
    assert backend.cli("list", "--json").json()["count"] == 0


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (("-c", "size=2", "-c", "colour=red"), "unknown context key 'colour'; expected some of: size, label"),
        (("-c", "label=x"), "context key 'size' is required"),
        (("--context", '{"size": 0}'), "size must be a whole number >= 1, got 0"),
        (("--context", '{"size": true}'), "size must be a whole number >= 1, got True"),
    ],
)
def test_a_user_strategy_checks_its_context_with_the_helpers(
    backend: Backend, context: tuple[str, ...], message: str
) -> None:
    result = backend.cli("create", "--type", "test-context-helpers", *context, "-q")

    assert result.code == 2
    assert only_line(result.stderr) == f"error: invalid context for test-context-helpers: {message}"
    assert backend.cli("list", "--json").json()["count"] == 0
    created = backend.cli("create", "--type", "test-context-helpers", "--context", '{"size": 3}', "--json")
    assert created.code == 0, created.stderr
    assert created.json()["context"] == {"size": 3, "label": ""}


def test_prepare_normalises_the_context_that_is_stored(backend: Backend) -> None:
    created = backend.cli("create", "--type", "test-picky", "-c", "name=  padded  ", "--json")
    assert created.code == 0, created.stderr
    assert created.json()["context"] == {"name": "padded"}
    assert backend.cli("show", created.json()["id"], "--json").json()["context"] == {"name": "padded"}


# -- entry points (in-process: no package is installed for this) ----------------------------------------------


class EntryPointNoop(BatchJobStrategy):
    """A noop shipped by an installed package."""

    identifier = "package-noop"
    batch_type = "noop"


class EntryPointExport(BatchJobStrategy):
    """An export shipped by an installed package."""

    batch_type = "pkg-export"


@dataclass
class FakeDist:
    name: str


@dataclass
class FakeEntryPoint:
    """What importlib.metadata.entry_points() yields, as far as registry.py uses it."""

    name: str
    value: str
    target: Any
    dist: FakeDist | None = None

    def load(self) -> Any:
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def install_entry_points(monkeypatch: pytest.MonkeyPatch, *points: FakeEntryPoint) -> list[str]:
    asked: list[str] = []

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        asked.append(group)
        return list(points)

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    return asked


def test_an_entry_point_strategy_overrides_the_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = install_entry_points(
        monkeypatch,
        FakeEntryPoint("noop", "acme_jobs:EntryPointNoop", EntryPointNoop, FakeDist("acme-jobs")),
    )

    loaded = registry.load_registry([])

    assert asked == ["batchctl.strategies"]
    info = loaded.get("noop")
    assert info.strategy_class is EntryPointNoop
    assert info.source == "package acme-jobs"
    assert info.origin == "acme_jobs:EntryPointNoop"
    assert [o.strategy_class for o in loaded.overridden] == [NoopStrategy]


def test_an_entry_point_may_name_a_module_of_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    module = ModuleType("acme_jobs")
    for strategy_class in (EntryPointNoop, EntryPointExport):
        strategy_class_in_module = type(strategy_class.__name__, (strategy_class,), {"__module__": "acme_jobs"})
        setattr(module, strategy_class.__name__, strategy_class_in_module)
    module.BatchJobStrategy = BatchJobStrategy  # type: ignore[attr-defined]  # imported names are not strategies
    install_entry_points(monkeypatch, FakeEntryPoint("acme", "acme_jobs", module, FakeDist("acme-jobs")))

    loaded = registry.load_registry([])

    assert loaded.get("pkg-export").source == "package acme-jobs"
    assert loaded.get("noop").source == "package acme-jobs"


def test_a_folder_overrides_an_entry_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_entry_points(monkeypatch, FakeEntryPoint("noop", "acme:EntryPointNoop", EntryPointNoop, FakeDist("acme")))
    folder = folder_with(tmp_path, "mine", {"noop_override.py": FOLDER_NOOP})

    loaded = registry.load_registry([tmp_path / "absent", folder])

    assert loaded.get("noop").identifier == "folder-noop"
    assert [o.source for o in loaded.overridden] == ["built-in", "package acme"]


def test_an_entry_point_that_fails_to_load_names_it_and_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    install_entry_points(
        monkeypatch, FakeEntryPoint("broken", "acme:Broken", ImportError("no module named acme"), FakeDist("acme"))
    )
    with pytest.raises(StrategyLoadError) as refused:
        registry.load_registry([])
    message = str(refused.value)
    assert "'broken'" in message and "acme" in message and "ImportError: no module named acme" in message
    assert refused.value.exit_code == 2


def test_an_entry_point_to_something_else_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    install_entry_points(monkeypatch, FakeEntryPoint("odd", "acme:helper", len, FakeDist("acme")))
    with pytest.raises(StrategyLoadError, match="not a BatchJobStrategy subclass"):
        registry.load_registry([])


def test_entry_points_can_be_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = install_entry_points(monkeypatch, FakeEntryPoint("noop", "acme:EntryPointNoop", EntryPointNoop))
    loaded = registry.load_registry([], entry_points=False)
    assert asked == []
    assert loaded.get("noop").strategy_class is NoopStrategy


def test_a_missing_default_strategies_folder_is_fine_but_an_explicit_one_is_not(tmp_path: Path) -> None:
    # ./strategies (the first path) is optional; every path the user named must exist.
    assert "noop" in registry.load_registry([tmp_path / "absent"], entry_points=False).by_type
    with pytest.raises(StrategyLoadError, match=r"not a folder or a \.py file"):
        registry.load_registry([tmp_path / "absent", tmp_path / "also-absent"], entry_points=False)


# -- strategy files that misbehave at import or define a broken class ----------------------------------------

STRATEGY_HEAD = "from batchctl import BatchJobStrategy\n\n\nclass Broken(BatchJobStrategy):\n"
# file source -> what the one line must say besides the file's path
MISBEHAVING = {
    "exits-3": ("import sys\n\nsys.exit(3)\n", "sys.exit(3)"),
    "exits-0": ("raise SystemExit(0)\n", "sys.exit(0)"),
    "interrupts": ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    "type-not-a-string": (STRATEGY_HEAD + "    batch_type = 5\n", "batch_type 5"),
    "type-empty": (STRATEGY_HEAD + '    batch_type = ""\n', "batch_type ''"),
    "type-with-spaces": (STRATEGY_HEAD + '    batch_type = "my export"\n', "batch_type 'my export'"),
    "type-too-long": (STRATEGY_HEAD + f'    batch_type = "{"x" * 101}"\n', "at most 100 characters"),
    "identifier-not-a-string": (
        STRATEGY_HEAD + '    batch_type = "fine"\n    identifier = ["x"]\n',
        "identifier ['x']",
    ),
    "hook-not-a-method": (STRATEGY_HEAD + '    batch_type = "fine"\n    process = None\n', "process is None"),
    "hook-without-job": (
        STRATEGY_HEAD + '    batch_type = "fine"\n\n    def process(self):\n        pass\n',
        "process(self) cannot be called as process(self, job)",
    ),
    "retry-hook-short": (
        STRATEGY_HEAD + '    batch_type = "fine"\n\n    def should_retry(self, job):\n        return True\n',
        "should_retry(self, job, error)",
    ),
    "attempts-zero": (
        STRATEGY_HEAD + '    batch_type = "fine"\n    max_attempts = 0\n',
        "max_attempts must be a whole number from 1 to 1000, got 0",
    ),
}


def misbehaving_folder(tmp_path: Path, case: str) -> tuple[Path, Path]:
    source, _ = MISBEHAVING[case]
    folder = folder_with(tmp_path, "mine", {"bad.py": source})
    return folder, folder / "bad.py"


@pytest.mark.parametrize("case", sorted(MISBEHAVING))
@pytest.mark.parametrize("command", [("strategies", "--json"), ("create", "--type", "noop", "-q")], ids=lambda c: c[0])
def test_a_misbehaving_strategy_file_is_one_line_exit_2_naming_it(
    backend: Backend, tmp_path: Path, case: str, command: tuple[str, ...]
) -> None:
    folder, path = misbehaving_folder(tmp_path, case)

    result = backend.cli(*command, env={"BATCHCTL_STRATEGIES": str(folder)})

    assert result.code == 2, (result.stdout, result.stderr)
    line = only_line(result.stderr)
    assert line.startswith(f"error: strategy file {path}")
    assert MISBEHAVING[case][1] in line
    assert result.stdout == ""
    assert backend.cli("list", "--json").json()["count"] == 0


@pytest.mark.parametrize("case", ["exits-3", "interrupts", "type-not-a-string", "hook-without-job"])
def test_a_worker_refuses_a_misbehaving_strategy_file_in_one_line(backend: Backend, tmp_path: Path, case: str) -> None:
    # A real process: a SystemExit or KeyboardInterrupt at import would otherwise decide the exit code.
    folder, path = misbehaving_folder(tmp_path, case)
    result = backend.run("worker", "--burst", env={"BATCHCTL_STRATEGIES": str(folder)})
    assert result.code == 2, (result.stdout, result.stderr)
    line = only_line(result.stderr)
    assert line.startswith(f"error: strategy file {path}") and MISBEHAVING[case][1] in line
    assert backend.cli("workers", "--all", "--json").json()["workers"] == []  # it never started


@pytest.mark.parametrize("kind", ["directory", "dangling-link"])
def test_a_strategy_path_that_cannot_be_read_is_one_line_exit_2(backend: Backend, tmp_path: Path, kind: str) -> None:
    # Running as root, a chmod 000 file is still readable; a directory or a dangling link named *.py is not.
    folder = tmp_path / "mine"
    folder.mkdir()
    bad = folder / "bad.py"
    if kind == "directory":
        bad.mkdir()
    else:
        bad.symlink_to(tmp_path / "gone.py")
    for command in (("strategies", "--json"), ("create", "--type", "noop", "-q")):
        result = backend.cli(*command, env={"BATCHCTL_STRATEGIES": str(folder)})
        assert result.code == 2, (result.stdout, result.stderr)
        assert only_line(result.stderr).startswith(f"error: strategy file {bad} cannot be read: ")
        assert result.stdout == ""


CHATTY = 'print("loading my strategies...")\n' + strategy_source("chatty")


def test_what_a_strategy_file_prints_at_import_goes_to_stderr(backend: Backend, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "mine", {"chatty.py": CHATTY})
    env = {"BATCHCTL_STRATEGIES": str(folder)}
    for run in (backend.cli, backend.run):  # in-process, and a real process (its file descriptor 1)
        listed = run("strategies", "--json", env=env)
        assert listed.code == 0, listed.stderr
        assert "chatty" in {entry["type"] for entry in listed.json()["strategies"]}  # still JSON
        assert "loading my strategies..." in listed.stderr
        created = run("create", "--type", "chatty", "-q", env=env)
        assert created.code == 0, created.stderr
        assert created.stdout.strip().startswith("batch_") and len(created.stdout.split()) == 1


def test_a_base_class_without_a_batch_type_is_not_a_strategy(tmp_path: Path) -> None:
    # Only a class that sets batch_type itself (even to "") is meant as a strategy.
    source = strategy_source("child", "Child").replace(
        "class Child(BatchJobStrategy):", "class Base(BatchJobStrategy):\n    pass\n\n\nclass Child(Base):"
    )
    folder = folder_with(tmp_path, "mine", {"family.py": source})
    loaded = registry.load_registry([tmp_path / "absent", folder], entry_points=False)
    assert loaded.get("child").strategy_class.__name__ == "Child"
    assert "" not in loaded.by_type


def test_an_entry_point_with_a_broken_class_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = type("Spaced", (BatchJobStrategy,), {"batch_type": "has space"})
    install_entry_points(monkeypatch, FakeEntryPoint("spaced", "acme:Spaced", broken, FakeDist("acme")))
    with pytest.raises(StrategyLoadError) as refused:
        registry.load_registry([])
    assert str(refused.value).startswith("strategy entry point 'spaced' of package acme: class Spaced")
