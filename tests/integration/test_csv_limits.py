"""``product-import`` of files a reader could choke on, with real worker processes on both backends.

A 44 MB CSV whose one line held 5 million cells took a worker to 2.1 GB: the reader now bounds a record
(1 MiB, 1,000 cells). The worker's peak RSS is measured from ``wait4`` of its own process: a memory
bound, not a timing.
"""

from __future__ import annotations

import os
import subprocess
import threading
from typing import Any

import pytest

from tests.conftest import BATCHCTL, Backend
from tests.integration.test_product_import import create, show, stat

PEAK_RSS_LIMIT = 300 * 2**20  # the old reader took a worker past 2 GB on such files
WIDE_LINE_CELLS = 5_000_000
CELL = "abcdefg"  # 5 million of them and their ";": 40 MB on one line


def _write_wide_line(out: Any) -> None:
    block = (CELL + ";") * 100_000
    for _ in range(WIDE_LINE_CELLS // 100_000):
        out.write(block)
    out.write("\r\n")


def burst_with_peak_rss(backend: Backend) -> tuple[int, int]:
    """Run a burst worker as a real process to its end: (exit code, its peak RSS in bytes)."""
    with (backend.tmp / "burst.log").open("a") as log:
        process = subprocess.Popen(
            [*BATCHCTL, "worker", "--burst"],
            env={**os.environ, **backend.env},
            cwd=backend.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stuck = threading.Timer(600, process.kill)  # not an assertion: only so that a hung worker ends the test
    stuck.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        stuck.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss * 1024  # Linux reports kilobytes


def test_a_one_line_file_of_millions_of_cells_fails_in_bounded_memory(backend: Backend) -> None:
    path = backend.tmp / "wide-header.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        _write_wide_line(out)
    assert path.stat().st_size > 39_000_000
    job_id = create(backend, "product-import", "-c", f"file={path}")
    code, peak = burst_with_peak_rss(backend)
    assert code == 0, (backend.tmp / "burst.log").read_text()
    assert peak < PEAK_RSS_LIMIT, f"the worker peaked at {peak / 2**20:.0f} MiB"
    job = show(backend, job_id)
    assert job["status"] == "failed"
    [error] = job["result"]["errors"]
    assert error["code"] == "ImportRefused"
    assert error["message"] == (
        f"{path}: row 1, the header: the row is 40,000,000 characters long; at most 1,048,576 are allowed"
    )


def test_a_data_row_of_millions_of_cells_is_a_row_error_and_the_others_are_checked(backend: Backend) -> None:
    path = backend.tmp / "wide-row.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Product Handle;Product Title\r\nmug;Mug\r\n")
        _write_wide_line(out)
        out.write(";" * 1500 + "\r\n")  # short, but 1,501 cells
        out.write("cup;Cup\r\n")
    job_id = create(backend, "product-import", "-c", f"file={path}", "--dry-run")
    code, peak = burst_with_peak_rss(backend)
    assert code == 0, (backend.tmp / "burst.log").read_text()
    assert peak < PEAK_RSS_LIMIT, f"the worker peaked at {peak / 2**20:.0f} MiB"
    preview = show(backend, job_id)
    assert preview["status"] == "pre_processed"
    result = preview["result"]
    assert result["errors"] == [
        {
            "row": 3,
            "code": "row_too_long",
            "message": "the row is 40,000,000 characters long; at most 1,048,576 are allowed",
        },
        {"row": 4, "code": "too_many_cells", "message": "the row has 1,501 cells; at most 1,000 are allowed"},
    ]
    assert result["bad_rows"] == 2 and result["count"] == 2  # mug and cup are checked as usual
    assert result["confirm_blocked"].startswith(f"Cannot import {path}: 2 of its rows have errors")
    human = backend.cli("show", job_id).stdout
    assert "error (row 4): the row has 1,501 cells; at most 1,000 are allowed" in human


# Files that once ended in a traceback, a stuck job or a wrong row, each with what the import now says.
_LATE_ROWS = "".join(f"p{i};T{i}\r\n" for i in range(3000))
REFUSED_FILES = {
    # A NUL in a column name reached the job's errors: PostgreSQL refused them, the job stayed `created`.
    "nul-in-header": (
        b"Product Handle;Product\x00 Title\r\nmug;Mug\r\n",
        "row 1, the header, holds a NUL character; it should hold column names",
    ),
    "latin-1-far-in": (
        f"Product Handle;Product Title\r\n{_LATE_ROWS}".encode() + "café;x\r\n".encode("latin-1"),
        "row 3002: the file is not UTF-8 text (byte 0xE9); save it as UTF-8",  # was: row 2691
    ),
    "utf-16": (
        "Product Handle\r\nmug\r\n".encode("utf-16"),
        "row 1: the file is UTF-16 text, not UTF-8; save it as UTF-8",
    ),
    "only-a-bom": (b"\xef\xbb\xbf", "is empty; it needs a header row (see `batchctl template product-import`)"),
}


@pytest.mark.parametrize("case", list(REFUSED_FILES))
def test_a_file_that_cannot_be_read_fails_with_one_clear_error(backend: Backend, case: str) -> None:
    data, message = REFUSED_FILES[case]
    path = backend.tmp / f"{case}.csv"
    path.write_bytes(data)
    job_id = create(backend, "product-import", "-c", f"file={path}", "--dry-run")
    burst = backend.burst()
    assert burst.code == 0 and "Traceback" not in burst.stdout + burst.stderr, burst.stderr
    job = show(backend, job_id)
    assert job["status"] == "failed"
    [error] = job["result"]["errors"]
    assert error["code"] == "ImportRefused"
    assert error["message"].startswith(str(path)) and error["message"].endswith(message)


def test_odd_but_readable_files_are_previewed_with_what_they_hold(backend: Backend) -> None:
    cases = {
        "nul-in-row": b"Product Handle;Product Title\r\nmug;M\x00ug\r\ncup;Cup\r\n",
        "two-boms": "\ufeff\ufeffProduct Handle;Product Title\r\nmug;Mug\r\n".encode(),
        "only-a-header": b"Product Handle;Product Title\r\n",
    }
    jobs = {}
    for case, data in cases.items():
        path = backend.tmp / f"{case}.csv"
        path.write_bytes(data)
        jobs[case] = create(backend, "product-import", "-c", f"file={path}", "--dry-run")
    assert backend.burst().code == 0
    previews = {case: show(backend, job_id) for case, job_id in jobs.items()}
    assert {case: p["status"] for case, p in previews.items()} == dict.fromkeys(cases, "pre_processed")

    nul = previews["nul-in-row"]["result"]
    assert [(e["row"], e["code"]) for e in nul["errors"]] == [(2, "invalid_character")]
    assert nul["count"] == 1  # cup is fine

    assert previews["two-boms"]["result"]["errors"] == []
    assert stat(previews["two-boms"], "product-import-count").startswith("There will be 1 products created")

    empty = previews["only-a-header"]
    assert empty["result"]["errors"] == [] and empty["result"]["count"] == 0
    assert stat(empty, "product-import-empty") == "The file has a header but no rows: nothing will be imported."
