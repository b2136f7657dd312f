"""Counts and kinds in messages: "1 job", "2 jobs", "an int", "a whole number"."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from batchctl import words


@given(st.integers(min_value=0, max_value=10**12))
def test_count_is_singular_exactly_for_one(n: int) -> None:
    said = words.count(n, "job")
    assert said == (f"{n} job" if n == 1 else f"{n} jobs")
    assert words.count(n, "delivery", "deliveries").endswith("delivery" if n == 1 else "deliveries")


def test_types_take_their_article_and_numbers_their_plain_names() -> None:
    values: tuple[object, ...] = (1, [], b"", {1}, 2.5, "x")
    assert [words.a_type(value) for value in values] == [
        "an int",
        "a list",
        "a bytes",
        "a set",
        "a float",
        "a str",
    ]
    assert words.a("object") == "an object" and words.a("") == "a "
    assert (words.kind(int), words.kind(float), words.kind(str)) == ("whole number", "number", "str")
