"""The job file store: a job reads only the copy made at create, and every file it has goes with it.

Real CLI and worker processes, both backends (see src/batchctl/files.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BATCHCTL, Backend, Result, wait_until

DATA = Path(__file__).resolve().parent.parent / "data"
SECRET = "TOP-SECRET-FIRST-LINE;do-not-show"
SHORT_LEASE = {"BATCHCTL_LEASE_SECONDS": "1"}


def show(backend: Backend, job_id: str) -> dict[str, Any]:
    shown = backend.cli("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()


def run_in(backend: Backend, cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI as a real process started in ``cwd``."""
    done = subprocess.run(
        [*BATCHCTL, *args],
        env={**os.environ, **backend.env, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def file_rows(backend: Backend) -> list[dict[str, Any]]:
    with backend.database().transaction(write=False) as tx:
        return tx.execute("SELECT job_id, key, role FROM batch_job_file ORDER BY job_id, key").all()


def stored(backend: Backend) -> list[str]:
    """Every file under BATCHCTL_FILES, relative to it."""
    root = Path(backend.env["BATCHCTL_FILES"])
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())


def secret_file(backend: Backend) -> Path:
    secret = backend.tmp / "secret.txt"
    secret.write_text(f"{SECRET}\nsecond line\n", encoding="utf-8")
    secret.chmod(0o600)
    return secret


def test_a_file_swapped_for_a_symlink_after_create_is_not_what_the_worker_reads(backend: Backend) -> None:
    source = backend.tmp / "products.csv"
    source.write_bytes((DATA / "medusa_template.csv").read_bytes())
    created = backend.run("create", "--type", "product-import", "-c", f"file={source}", "--dry-run", "-q")
    assert created.code == 0, created.stderr
    job_id = created.stdout.strip()
    # After create, the user's path becomes a link to a file the worker must never read.
    source.unlink()
    source.symlink_to(secret_file(backend))

    assert backend.burst().code == 0
    job = show(backend, job_id)
    assert job["status"] == "pre_processed", job["result"]
    stat = next(s["message"] for s in job["result"]["stat_descriptors"] if s["key"] == "product-import-count")
    assert stat == "There will be 3 products created (0 updated). 9 variants will be created (0 updated)."
    for shown in (backend.cli("show", job_id).stdout, backend.cli("show", job_id, "--json").stdout):
        assert "TOP-SECRET" not in shown
    assert backend.cli("confirm", job_id, "-q").code == 0
    assert backend.burst().code == 0
    assert show(backend, job_id)["status"] == "completed"
    with backend.database().transaction(write=False) as tx:
        handles = {row["handle"] for row in tx.execute("SELECT handle FROM product").all()}
    assert "coffee-mug" in handles  # the copy's content was imported


def test_a_link_put_into_the_store_is_refused_by_the_worker(backend: Backend) -> None:
    source = backend.tmp / "products.csv"
    source.write_bytes((DATA / "medusa_template.csv").read_bytes())
    job_id = backend.cli("create", "--type", "product-import", "-c", f"file={source}", "--dry-run", "-q").stdout.strip()
    copy = Path(backend.env["BATCHCTL_FILES"]) / show(backend, job_id)["context"]["file_key"]
    copy.unlink()
    copy.symlink_to(secret_file(backend))

    assert backend.burst().code == 0
    job = show(backend, job_id)
    assert job["status"] == "failed"
    assert "is a symbolic link; it is not read" in job["result"]["errors"][-1]["message"]
    assert "TOP-SECRET" not in backend.cli("show", job_id).stdout + backend.cli("show", job_id, "--json").stdout


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory", "device"])
def test_create_refuses_what_is_not_a_regular_file_and_writes_nothing(backend: Backend, kind: str) -> None:
    target = backend.tmp / f"input-{kind}"
    if kind == "symlink":
        real = backend.tmp / "real.csv"
        real.write_bytes((DATA / "medusa_template.csv").read_bytes())
        target.symlink_to(real)
        expected = "is a symbolic link; give the file itself"
    elif kind == "fifo":
        os.mkfifo(target)
        expected = "is a FIFO; give a regular file"
    elif kind == "directory":
        target.mkdir()
        expected = "is a directory; give a regular file"
    else:
        target = Path("/dev/zero")
        expected = "is a character device; give a regular file"
    refused = backend.run("create", "--type", "product-import", "-c", f"file={target}")
    assert refused.code == 2, (refused.stdout, refused.stderr)
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1, refused.stderr
    assert expected in refused.stderr and str(target) in refused.stderr
    assert backend.cli("list", "--json").json()["count"] == 0
    assert file_rows(backend) == [] and stored(backend) == []


def test_prune_removes_an_imports_stored_file_and_an_exports_file(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "5").code == 0
    source = backend.tmp / "products.csv"
    source.write_bytes((DATA / "medusa_template.csv").read_bytes())
    imported = backend.cli("create", "--type", "product-import", "-c", f"file={source}", "-q").stdout.strip()
    exported = backend.cli("create", "--type", "product-export", "-q").stdout.strip()
    assert backend.burst().code == 0
    assert show(backend, imported)["status"] == show(backend, exported)["status"] == "completed"
    copy_key = show(backend, imported)["context"]["file_key"]
    export_file = Path(show(backend, exported)["result"]["file_key"])
    assert export_file.is_file()
    assert stored(backend) == sorted([copy_key, export_file.relative_to(backend.env["BATCHCTL_FILES"]).as_posix()])
    # The import's spool is recorded too (already removed by the completed import: its record stays for prune).
    assert {(row["job_id"], row["role"]) for row in file_rows(backend)} == {
        (imported, "input"),
        (imported, "scratch"),
        (exported, "output"),
    }

    pruned = backend.cli("prune", "--older-than", "0s", "--json")
    assert pruned.code == 0, pruned.stderr
    assert sorted(pruned.json()["jobs"]) == sorted([imported, exported])
    assert len(pruned.json()["files"]) == 2
    assert stored(backend) == [] and file_rows(backend) == []
    assert not (Path(backend.env["BATCHCTL_FILES"]) / "jobs" / imported).exists()
    assert source.exists()  # the user's own file is never touched


def test_an_export_canceled_while_its_worker_was_dead_leaves_no_file(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "1500", "--variants", "1").code == 0
    job_id = backend.cli("create", "--type", "product-export", "-c", "chunk_size=1", "-q").stdout.strip()
    first = backend.start_worker(env=SHORT_LEASE)
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 20)
    first.send_signal(signal.SIGKILL)
    first.wait()
    path = Path(show(backend, job_id)["result"]["file_key"])
    assert path.is_file()
    # Nobody holds the job when the cancel lands, so no worker's on_canceled will ever run for it.
    assert backend.cli("cancel", job_id, "-q").code == 0
    backend.start_worker(env=SHORT_LEASE)
    wait_until(lambda: not path.exists())
    job = show(backend, job_id)
    assert job["status"] == "canceled"
    assert job["result"]["file_key"] is None and job["result"]["file_size"] is None
    wait_until(lambda: file_rows(backend) == [])
    assert stored(backend) == []


def test_a_relative_batchctl_files_is_the_same_place_from_every_directory(backend: Backend) -> None:
    env = {"BATCHCTL_FILES": "store"}  # relative: taken from BATCHCTL_HOME, whatever the working directory
    home = Path(backend.env["BATCHCTL_HOME"])
    shell, worker, elsewhere = (backend.tmp / name for name in ("shell", "worker", "elsewhere"))
    for folder in (shell, worker, elsewhere):
        folder.mkdir()
    (shell / "products.csv").write_bytes((DATA / "medusa_template.csv").read_bytes())
    assert run_in(backend, shell, "products", "seed", "--count", "3", env=env).code == 0
    created = run_in(backend, shell, "create", "--type", "product-import", "-c", "file=products.csv", "-q", env=env)
    assert created.code == 0, created.stderr
    imported = created.stdout.strip()
    exported = run_in(backend, shell, "create", "--type", "product-export", "-q", env=env).stdout.strip()
    assert run_in(backend, worker, "worker", "--burst", env=env).code == 0

    shown = run_in(backend, elsewhere, "show", exported, "--json", env=env).json()
    assert shown["status"] == "completed"
    export_file = Path(shown["result"]["file_key"])
    assert export_file.is_absolute() and export_file.is_relative_to(home / "store")
    assert run_in(backend, elsewhere, "show", imported, "--json", env=env).json()["status"] == "completed"
    assert (home / "store" / "jobs" / imported / "products.csv").is_file()

    pruned = run_in(backend, elsewhere, "prune", "--older-than", "0s", env=env)
    assert pruned.code == 0 and pruned.stdout.strip() == "deleted 2 jobs and 2 files", pruned.stdout
    assert not export_file.exists() and not (home / "store" / "jobs" / imported).exists()
    assert not any((folder / "store").exists() for folder in (shell, worker, elsewhere))


def test_a_create_that_died_after_its_copy_leaves_a_record_that_prune_clears(backend: Backend) -> None:
    # What a create killed between copying the file in and writing the job leaves: the record (written
    # first) and the copy, with no job. Prune clears it once it is older than the grace period.
    from datetime import timedelta

    from batchctl.db import utcnow

    assert backend.cli("db", "upgrade").code == 0
    ghost = "batch_01M8Y3F2N147DAZ40KP7NWDJ3B"
    copy = Path(backend.env["BATCHCTL_FILES"]) / "jobs" / ghost / "products.csv"
    copy.parent.mkdir(parents=True)
    copy.write_text("Product Handle\r\n", encoding="utf-8")
    with backend.database().transaction() as tx:
        for key, age in ((f"jobs/{ghost}/products.csv", timedelta(hours=2)), ("jobs/young/x.csv", timedelta(0))):
            tx.execute(
                "INSERT INTO batch_job_file (job_id, key, role, created_at) VALUES (:job, :key, 'input', :at)",
                {"job": ghost if "young" not in key else "young", "key": key, "at": utcnow() - age},
            )
    assert backend.cli("prune", "--older-than", "0s").code == 0
    assert not copy.exists() and not copy.parent.exists()
    assert [row["job_id"] for row in file_rows(backend)] == ["young"]  # a create may still be copying this one


def test_each_scheduled_import_gets_its_own_copy_of_the_file(backend: Backend) -> None:
    source = backend.tmp / "feed.csv"
    source.write_bytes((DATA / "medusa_template.csv").read_bytes())
    added = backend.cli("schedule", "add", "feed", "--type", "product-import", "-c", f"file={source}", "--every", "1d")
    assert added.code == 0, added.stderr
    first = backend.cli("schedule", "run", "feed", "--json").json()
    source.write_bytes(b"Product Handle;Product Title\r\nchanged;Changed\r\n")
    second = backend.cli("schedule", "run", "feed", "--json").json()
    root = Path(backend.env["BATCHCTL_FILES"])
    for job, content in ((first, (DATA / "medusa_template.csv").read_bytes()), (second, source.read_bytes())):
        assert job["context"]["file_key"] == f"jobs/{job['id']}/feed.csv"
        assert (root / job["context"]["file_key"]).read_bytes() == content
    source.unlink()
    source.symlink_to(secret_file(backend))
    refused = backend.cli("schedule", "run", "feed")
    assert refused.code == 2 and "is a symbolic link" in refused.stderr
    assert backend.cli("list", "--json").json()["count"] == 2


def test_an_upload_handed_to_two_imports_stays_until_neither_needs_it(backend: Backend, patched_env: Any) -> None:
    # The HTTP flow without the server: an upload, then product-import with its key (as http/medusa.py does).
    import io
    from datetime import timedelta

    import batchctl
    from batchctl.db import utcnow

    with patched_env(backend.env):
        jobs = batchctl.connect()
    uploads = jobs.uploads()
    key = uploads.save("tester", "products.csv", io.BytesIO((DATA / "medusa_template.csv").read_bytes()))
    path = str(uploads.upload_path("tester", key))
    first, second = (jobs.create("product-import", {"file_key": path}, dry_run=True) for _ in range(2))
    assert first.context["file_key"] == second.context["file_key"] == key  # handed by key, not copied
    assert first.context["file_name"] == "products.csv"
    assert backend.burst().code == 0
    assert jobs.get(first.id).status == jobs.get(second.id).status == "pre_processed"
    for job in (first, second):
        jobs.cancel(job.id)
    with backend.database().transaction() as tx:
        tx.execute(
            "UPDATE batch_job SET updated_at = :at WHERE id = :id", {"at": utcnow() - timedelta(days=2), "id": first.id}
        )
    assert jobs.prune(timedelta(days=1)).job_ids == [first.id]
    assert Path(path).is_file()  # the second import still holds it
    assert jobs.prune(timedelta(0)).job_ids == [second.id]
    assert not Path(path).exists() and file_rows(backend) == []
    jobs.close()
