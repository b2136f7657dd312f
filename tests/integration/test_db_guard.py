"""A wrong BATCHCTL_DATABASE_URL changes nobody's file, and a typo does not look like an empty job list.

Every case runs the real CLI as a process. A target that is not batchctl's (another program's SQLite
file or schema, a newer batchctl schema, a file that is not a database, a directory, a device, a fifo)
is refused with exit 5 and one line naming it, and is left byte for byte as it was with nothing beside
it: no -wal/-shm, no .migrate-lock, no queue file. A command that only reads refuses a path where no
database exists and makes nothing there. A full disk is one line, exit 5.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchctl.db import Database
from batchctl.errors import BackendUnavailable, DiskFull
from batchctl.schema import HEAD_REVISION, identify
from tests.conftest import BACKENDS, Backend, Result

SOME_ID = "batch_01M8Y33688M53RAY0F42ZYZ8CX"  # well formed, in no database


def _sqlite_file(path: Path, *statements: str, wal: bool = False) -> None:
    raw = sqlite3.connect(path)
    if wal:
        raw.execute("PRAGMA journal_mode = WAL")
    for statement in statements:
        raw.execute(statement)
    raw.commit()
    raw.close()


def _foreign_tables(folder: Path) -> Path:
    path = folder / "app.db"
    _sqlite_file(
        path, "CREATE TABLE users (id INTEGER)", "CREATE TABLE orders (id INTEGER)", "INSERT INTO users VALUES (1)"
    )
    return path


def _foreign_tables_wal(folder: Path) -> Path:
    path = folder / "app.db"
    _sqlite_file(path, "CREATE TABLE users (id INTEGER)", "CREATE TABLE orders (id INTEGER)", wal=True)
    return path


def _foreign_alembic(folder: Path) -> Path:
    path = folder / "other.db"
    _sqlite_file(
        path,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "INSERT INTO alembic_version VALUES ('ab12cd34ef56')",
        "CREATE TABLE users (id INTEGER)",
    )
    return path


def _newer(folder: Path, template: Path) -> Path:
    path = folder / "jobs.db"
    shutil.copyfile(template, path)
    _sqlite_file(path, "UPDATE alembic_version SET version_num = '0099'")
    return path


def _text(folder: Path) -> Path:
    path = folder / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50, encoding="utf-8")
    return path


def _random_bytes(folder: Path) -> Path:
    path = folder / "blob.db"
    path.write_bytes(b"\x00\xffrandom" + os.urandom(8192))
    return path


def _directory(folder: Path) -> Path:
    path = folder / "adir"
    path.mkdir()
    return path


def _fifo(folder: Path) -> Path:
    path = folder / "pipe"
    os.mkfifo(path)
    return path


TARGETS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "foreign-tables": (_foreign_tables, "is not a batchctl database (it holds tables: orders, users)"),
    "foreign-tables-wal": (_foreign_tables_wal, "is not a batchctl database (it holds tables: orders, users)"),
    "foreign-alembic-version": (_foreign_alembic, "its alembic_version is 'ab12cd34ef56', not a batchctl revision"),
    "text-file": (_text, "is not a SQLite database"),
    "random-bytes": (_random_bytes, "is not a SQLite database"),
    "directory": (_directory, "is not a regular file (it is a directory)"),
    "fifo": (_fifo, "is not a regular file (it is a named pipe)"),
}
COMMANDS: dict[str, tuple[str, ...]] = {
    "list": ("list",),
    "create": ("create", "--type", "noop"),
    "db-upgrade": ("db", "upgrade"),
}
# The other commands that must refuse, run against the commonest mistake only (the matrix is slow enough).
MORE_COMMANDS: dict[str, tuple[str, ...]] = {
    "show": ("show", SOME_ID),
    "worker-burst": ("worker", "--burst"),
    "products-seed": ("products", "seed", "--count", "3"),
    "schedule-add": ("schedule", "add", "nightly", "--type", "noop", "--every", "1h"),
}


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every entry of ``folder``: its mode, its mtime and (for a file) its bytes."""
    entries: dict[str, tuple[int, int, bytes | None]] = {}
    for entry in sorted(folder.iterdir()):
        info = entry.lstat()
        content = entry.read_bytes() if stat.S_ISREG(info.st_mode) else None  # never open a fifo
        entries[entry.name] = (info.st_mode, info.st_mtime_ns, content)
    return entries


def _cli(tmp_path: Path, env_for: Callable[[Path], dict[str, str]], url: str) -> Backend:
    return Backend("guarded", {**env_for(tmp_path), "BATCHCTL_DATABASE_URL": url}, tmp_path)


def _assert_one_line(done: Result, code: int, *fragments: str) -> None:
    assert done.code == code, (done.code, done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


@pytest.fixture
def target_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "target"
    folder.mkdir()
    return folder


def _refuses_untouched(
    tmp_path: Path,
    env_for: Callable[[Path], dict[str, str]],
    folder: Path,
    path: Path,
    argv: tuple[str, ...],
    message: str,
) -> None:
    before = _snapshot(folder)
    done = _cli(tmp_path, env_for, f"sqlite:///{path}").run(*argv, timeout=120)
    _assert_one_line(done, 5, str(path), message)
    assert done.stdout == ""
    assert _snapshot(folder) == before  # the same bytes and mtimes, and nothing new beside it


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("kind", list(TARGETS), ids=list(TARGETS))
def test_a_target_that_is_not_batchctls_is_refused_and_left_as_it_was(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], target_dir: Path, kind: str, command: str
) -> None:
    make, message = TARGETS[kind]
    _refuses_untouched(tmp_path, env_for, target_dir, make(target_dir), COMMANDS[command], message)


@pytest.mark.parametrize("command", list(MORE_COMMANDS), ids=list(MORE_COMMANDS))
def test_every_kind_of_command_refuses_another_programs_file(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], target_dir: Path, command: str
) -> None:
    path = _foreign_tables(target_dir)
    _refuses_untouched(tmp_path, env_for, target_dir, path, MORE_COMMANDS[command], "it holds tables: orders, users")


@pytest.mark.parametrize("command", ["list", "create", "db-upgrade"])
def test_a_newer_batchctl_schema_is_refused_with_upgrade_batchctl(
    tmp_path: Path,
    env_for: Callable[[Path], dict[str, str]],
    target_dir: Path,
    sqlite_template: Path,
    command: str,
) -> None:
    path = _newer(target_dir, sqlite_template)
    argv = COMMANDS[command]
    _refuses_untouched(tmp_path, env_for, target_dir, path, argv, "revision 0099, newer than this batchctl")
    done = _cli(tmp_path, env_for, f"sqlite:///{path}").run(*argv)
    assert done.stderr.rstrip().endswith("upgrade batchctl"), done.stderr


@pytest.mark.parametrize("command", ["list", "create", "db-upgrade"])
def test_a_device_is_refused_and_nothing_appears_beside_it(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], command: str
) -> None:
    beside = [Path("/dev/null" + suffix) for suffix in ("-wal", "-shm", "-journal", ".migrate-lock", ".queue")]
    assert not any(path.exists() for path in beside)
    done = _cli(tmp_path, env_for, "sqlite:////dev/null").run(*COMMANDS[command])
    _assert_one_line(done, 5, "/dev/null is not a regular file (it is a character device)")
    assert [path for path in beside if path.exists()] == []


READ_COMMANDS: dict[str, tuple[tuple[str, ...], int]] = {
    "list": (("list",), 5),
    "list-json": (("list", "--json"), 5),
    "show": (("show", SOME_ID), 5),
    "wait": (("wait", SOME_ID, "--timeout", "1"), 5),
    "events": (("events", SOME_ID), 5),
    "watch": (("watch",), 5),
    "workers": (("workers",), 5),
    "schedule-list": (("schedule", "list"), 5),
    "products-count": (("products", "count"), 5),
    "confirm": (("confirm", SOME_ID), 5),
    "cancel": (("cancel", SOME_ID), 5),
    "retry": (("retry", SOME_ID), 5),
    "prune": (("prune", "--older-than", "30d"), 5),
    "strategies": (("strategies",), 0),  # needs no database at all
}


@pytest.mark.parametrize("command", list(READ_COMMANDS), ids=list(READ_COMMANDS))
def test_a_read_on_a_path_without_a_database_is_refused_and_makes_nothing(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], command: str
) -> None:
    argv, code = READ_COMMANDS[command]
    path = tmp_path / "typo" / "jobs.db"
    done = _cli(tmp_path, env_for, f"sqlite:///{path}").run(*argv)
    if code == 0:
        assert done.code == 0, done.stderr
    else:
        _assert_one_line(done, 5, f"no batchctl database at {path} (BATCHCTL_DATABASE_URL)", "batchctl db upgrade")
        assert done.stdout == ""
    assert not (tmp_path / "typo").exists()  # no file, no folder


def test_an_empty_file_is_no_database_for_a_read_and_becomes_one_for_a_create(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], target_dir: Path
) -> None:
    path = target_dir / "jobs.db"
    path.touch()
    cli = _cli(tmp_path, env_for, f"sqlite:///{path}")
    _refuses_untouched(tmp_path, env_for, target_dir, path, ("list",), "only an empty file")
    created = cli.run("create", "--type", "noop", "-q")
    assert created.code == 0, created.stderr
    assert cli.run("list", "-q").stdout.split() == [created.stdout.strip()]


@pytest.mark.parametrize(
    "command", [("create", "--type", "noop", "-q"), ("db", "upgrade")], ids=["create", "db-upgrade"]
)
def test_commands_that_create_make_a_new_database_and_its_folder(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], command: tuple[str, ...]
) -> None:
    path = tmp_path / "new" / "folder" / "jobs.db"
    done = _cli(tmp_path, env_for, f"sqlite:///{path}").run(*command)
    assert done.code == 0, done.stderr
    assert identify(Database(f"sqlite:///{path}")).revision == HEAD_REVISION


def test_an_older_batchctl_database_still_upgrades_itself_on_a_read(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]]
) -> None:
    from alembic import command

    from batchctl.migrations.runner import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0006")
    assert identify(Database(url)).revision == "0006"
    done = _cli(tmp_path, env_for, url).run("list", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["count"] == 0
    assert identify(Database(url)).revision == HEAD_REVISION


# -- PostgreSQL: the same rule for the schema ---------------------------------------------------------------

needs_postgres = pytest.mark.skipif("postgres" not in BACKENDS, reason="BATCHCTL_TEST_BACKENDS has no postgres")


def _pg_tables(url: str) -> list[tuple[str, str]]:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as raw:
        rows = raw.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


@needs_postgres
def test_a_postgres_database_with_another_programs_tables_is_refused(
    tmp_path: Path,
    env_for: Callable[[Path], dict[str, str]],
    pg_database: Callable[[str | None], AbstractContextManager[str]],
) -> None:
    import psycopg

    with pg_database(None) as url:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as raw:
            raw.execute("CREATE TABLE users (id INTEGER)")
            raw.execute("CREATE TABLE orders (id INTEGER)")
        before = _pg_tables(url)
        for argv in (("list",), ("create", "--type", "noop"), ("db", "upgrade"), ("worker", "--burst")):
            done = _cli(tmp_path, env_for, url).run(*argv)
            _assert_one_line(
                done, 5, "is not a batchctl database (it holds tables: orders, users)", "an empty database"
            )
        assert _pg_tables(url) == before  # no alembic_version, no batch_job


@needs_postgres
def test_a_newer_postgres_schema_is_refused_with_upgrade_batchctl(
    tmp_path: Path,
    env_for: Callable[[Path], dict[str, str]],
    pg_database: Callable[[str | None], AbstractContextManager[str]],
    pg_template: str,
) -> None:
    import psycopg

    with pg_database(pg_template) as url:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as raw:
            raw.execute("UPDATE alembic_version SET version_num = '0099'")
        for argv in (("list",), ("db", "upgrade")):
            done = _cli(tmp_path, env_for, url).run(*argv)
            _assert_one_line(done, 5, "revision 0099, newer than this batchctl", "upgrade batchctl")
        assert identify(Database(url)).revision == "0099"


# -- a full disk ----------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (the tests run as root here); skipped, saying why, where mounting is not allowed."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        while True:
            os.write(fd, b"\x00" * 4096)
    except OSError:  # ENOSPC: the disk is full now
        pass
    finally:
        os.close(fd)


def test_a_full_disk_is_one_line_with_exit_5(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]], small_disk: Path
) -> None:
    path = small_disk / "jobs.db"
    cli = _cli(tmp_path, env_for, f"sqlite:///{path}")
    full = f"the disk holding {path} is full"

    # The schema does not fit: the migration fails whole (one transaction, DDL included), so that once
    # there is room the next upgrade starts from nothing rather than from half the tables.
    disk = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(b"\x00" * (disk.f_bavail * disk.f_frsize - 64 * 1024))
    _assert_one_line(cli.run("db", "upgrade"), 5, full)
    (small_disk / "filler").unlink()
    upgraded = cli.run("db", "upgrade")
    assert upgraded.code == 0, upgraded.stderr
    job = cli.run("create", "--type", "noop", "-q")
    assert job.code == 0, job.stderr

    # A transaction larger than the disk: refused whole, one line.
    seeded = cli.run("products", "seed", "--count", "20000")
    _assert_one_line(seeded, 5, full)
    assert "cannot rollback" not in seeded.stderr

    _fill(small_disk)
    for argv in (("create", "--type", "noop"), ("cancel", job.stdout.strip())):
        done = cli.run(*argv)
        _assert_one_line(done, 5, full)

    (small_disk / "filler").unlink()
    listed = cli.run("list", "-q")
    assert listed.code == 0, listed.stderr
    assert listed.stdout.split() == [job.stdout.strip()]  # nothing half-written by the refused commands


def test_the_disk_full_errors_of_each_backend_are_recognised() -> None:
    import errno

    import psycopg.errors
    import sqlalchemy.exc

    sqlite_db = Database("sqlite:////var/data/jobs.db")
    postgres_db = Database("postgresql+psycopg://app:s3cret@db.example/jobs")
    sqlite_full = sqlite3.OperationalError("database or disk is full")
    wrapped = sqlalchemy.exc.OperationalError("INSERT ...", {}, sqlite_full)
    enospc = OSError(errno.ENOSPC, "No space left on device")
    pg_full = psycopg.errors.DiskFull('could not extend file "base/16384/2619": No space left on device')
    for database, error in (
        (sqlite_db, sqlite_full),
        (sqlite_db, wrapped),
        (sqlite_db, enospc),
        (postgres_db, pg_full),
    ):
        raised = database.unavailable(error)
        assert isinstance(raised, DiskFull), (error, raised)
        assert raised.exit_code == 5
        assert "s3cret" not in str(raised)
    assert str(sqlite_db.unavailable(sqlite_full)).startswith("the disk holding /var/data/jobs.db is full")
    assert "postgresql+psycopg://app:***@db.example/jobs" in str(postgres_db.unavailable(pg_full))
    assert not isinstance(sqlite_db.unavailable(sqlite3.OperationalError("database is locked")), DiskFull)


def test_a_full_disk_inside_a_transaction_is_disk_full_on_each_backend(backend: Backend) -> None:
    # What the server (or SQLite) raises mid-transaction reaches the caller as DiskFull, not as the driver's error.
    import psycopg.errors

    database = backend.database()
    full: Exception = (
        sqlite3.OperationalError("database or disk is full")
        if backend.name == "sqlite"
        else psycopg.errors.DiskFull('could not extend file "base/16384/2619": No space left on device')
    )
    try:
        with pytest.raises(DiskFull, match="is full; free some space"), database.transaction() as tx:
            tx.execute("SELECT 1")
            raise full
    finally:
        database.discard_connection()


# -- identify on arbitrary bytes: never writes, never a traceback ----------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.sampled_from([b"", b"SQLite format 3\x00"]),
    body=st.binary(min_size=0, max_size=4096),
    wal=st.booleans(),
)
def test_identify_never_writes_whatever_the_bytes(tmp_path: Path, header: bytes, body: bytes, wal: bool) -> None:
    folder = tmp_path / f"fuzz-{os.urandom(6).hex()}"
    folder.mkdir()
    content = header + (body if not wal or len(body) < 84 else body[:2] + b"\x02\x02" + body[4:])
    path = folder / "x.db"
    path.write_bytes(content)
    before = _snapshot(folder)
    try:
        found = identify(Database(f"sqlite:///{path}"))
    except BackendUnavailable:
        pass  # a one-line refusal is fine too
    else:
        assert found.state in ("empty", "not_sqlite", "foreign", "batchctl"), found
    assert _snapshot(folder) == before
