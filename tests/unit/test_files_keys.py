"""The file store's keys and BATCHCTL_FILES resolution: pure functions, no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchctl.config import files_root
from batchctl.files import FileStore, check_key, export_key, input_key, safe_name, spool_key

JOB = "batch_01M8Y3F2N147DAZ40KP7NWDJ3B"


@given(st.text(max_size=300))
def test_any_name_a_user_gives_becomes_one_plain_part_of_a_key(name: str) -> None:
    cleaned = safe_name(name, "input")
    assert "/" not in cleaned and not cleaned.startswith(".")
    key = input_key(JOB, name)
    assert check_key(key) == key and key.startswith(f"jobs/{JOB}/") and key.count("/") == 2


@pytest.mark.parametrize(
    "key",
    ["", "/etc/shadow", "jobs/../../etc/shadow", "jobs/./x", "jobs//x", "jobs/x/", ".hidden", "a\\b", "jobs/ x"],
)
def test_keys_that_could_leave_the_store_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="is not a key of the file store"):
        check_key(key)


def test_the_store_knows_its_own_paths_and_no_others() -> None:
    store = FileStore(Path("/srv/files"))
    assert store.path(export_key(JOB)) == Path(f"/srv/files/exports/products/product-export-{JOB}.csv")
    assert store.key_of(f"/srv/files/{spool_key(JOB)}") == f"imports/{JOB}.rows"
    assert store.key_of("/srv/files/../etc/shadow") is None
    assert store.key_of("/srv/other/x.csv") is None
    assert store.key_of("relative/x.csv") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "/home/me/data/files"),
        ("", "/home/me/data/files"),
        ("store", "/home/me/data/store"),  # relative: from the data dir, never the working directory
        ("./a/../store", "/home/me/data/store"),
        ("/srv/files", "/srv/files"),
        ("/srv/files/", "/srv/files"),
    ],
)
def test_batchctl_files_is_made_absolute_once(raw: str | None, expected: str) -> None:
    assert files_root(raw, Path("/home/me/data")) == Path(expected)
