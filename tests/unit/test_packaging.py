"""pyproject.toml says what current packaging tools read without a deprecation warning."""

from __future__ import annotations


def test_the_license_is_an_spdx_string_built_by_a_setuptools_that_reads_it() -> None:
    """``license = {text = …}`` is deprecated (pip warns on every install); setuptools 77 reads the SPDX string."""
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
