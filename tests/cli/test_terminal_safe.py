"""What a job carries never drives the terminal: control characters are shown, Rich markup is printed as is.

A job's creator, context, a strategy's stats and error messages, worker ids and strategy descriptions
reach `show`, `list`, `events`, `watch`, `workers`, `strategies` and the `error:` line. Each is checked
piped (a file read with `cat` later is the same attack) and on a real pseudo-terminal, where Rich
renders. `--json` stays exact: it round-trips the original strings.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchctl.cli.markup import esc, strip_markup, terminal_safe
from tests.cli.test_cli_output import colour_env, run_in_terminal, run_piped
from tests.conftest import BATCHCTL, Backend

# Clear screen, retitle the window, carriage return, CSI as one C1 byte, a bidi override, DEL, Rich markup.
HOSTILE = "a\x1b[2Jb\x1b]0;title\x07c\rd\x9be\u202ef\x7fg\x1b[31mh[bold]x[/bold][link=https://e.vil]y[/link]"
USER = "ev\x1b[2Jil\x9b\u202e[bold]u[/bold]\n"
SHOWN = terminal_safe(HOSTILE)
_RICH_OWN = re.compile(r"\x1b\[[0-9;]*m")  # the SGR styles Rich itself writes on a terminal


def unsafe_characters(text: str) -> list[str]:
    """The characters of ``text`` that a terminal would act on, besides the layout's own newlines."""
    return [
        char
        for char in text
        if char != "\n"
        and (unicodedata.category(char) in ("Cc", "Cs") or "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069")
    ]


def hostile_job(backend: Backend) -> str:
    """A failed job whose creator, context, stat and error message are all hostile."""
    made = backend.run(
        "create",
        "--type",
        "test-hostile",
        "-c",
        f"text={HOSTILE}",
        "-c",
        "n=[red]1[/red]",
        "-q",
        env={"BATCHCTL_USER": USER},
    )
    assert made.code == 0, made.stderr
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    assert "\x1b" not in burst.stderr and "\x9b" not in burst.stderr  # the worker's log line too
    return made.stdout.strip()


def screen(raw: str) -> str:
    """A terminal's output without Rich's own styles and the terminal's CR before each newline."""
    return _RICH_OWN.sub("", raw.replace("\r\n", "\n"))


# -- the function itself ----------------------------------------------------------------------------------


@settings(deadline=None)  # the first example imports Rich: slow on a loaded machine
@given(st.text())
def test_terminal_safe_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = terminal_safe(text)
    assert unsafe_characters(shown) == [] and "\n" not in shown
    if text.isprintable():
        assert shown == text


@settings(deadline=None)  # the first example imports Rich: slow on a loaded machine
@given(st.text())
def test_escaped_text_renders_exactly_as_terminal_safe_shows_it_in_rich_and_plain(text: str) -> None:
    from rich.console import Console

    markup = f"[bold]{esc(text)}[/bold] [red]end[/]"
    out = io.StringIO()
    Console(file=out, color_system=None, highlight=False, emoji=False, width=100_000, soft_wrap=True).print(markup)
    expected = f"{terminal_safe(text)} end"
    assert out.getvalue() == expected + "\n"
    assert strip_markup(markup) == expected


def test_the_escapes_are_visible() -> None:
    assert terminal_safe("a\x1b[2J\r\n\t\x7f\x9b\u202e\x00") == "a\\x1b[2J\\r\\n\\t\\x7f\\x9b\\u202e\\x00"


# -- the real commands -----------------------------------------------------------------------------------


def test_show_list_and_events_piped_are_safe(backend: Backend) -> None:
    job_id = hostile_job(backend)
    env = colour_env(backend)
    for args in (("show", job_id), ("list",), ("events", job_id)):
        done = run_piped(backend, *args, env=env)
        assert done.returncode == 0, done.stderr
        assert unsafe_characters(done.stdout) == [], (args, done.stdout)
    shown = run_piped(backend, "show", job_id, env=env).stdout
    assert f"created by {terminal_safe(USER)} at" in shown
    assert f"stat {SHOWN}: message {SHOWN}" in shown  # markup printed literally, escapes visible
    assert f"error: RuntimeError: failed {SHOWN}" in shown or f"error: failed {SHOWN}" in shown
    assert '"n": "[red]1[/red]"' in shown


def test_show_list_and_events_on_a_terminal_are_safe(backend: Backend) -> None:
    job_id = hostile_job(backend)
    for args in (("show", job_id), ("list",), ("events", job_id)):
        code, raw, err = run_in_terminal(backend, *args, env=colour_env(backend))
        assert code == 0, err
        seen = screen(raw)
        assert unsafe_characters(seen) == [], (args, seen)
        assert "\x1b]" not in raw and "\x1b[2J" not in raw and "\x07" not in raw
    code, raw, _ = run_in_terminal(backend, "show", job_id, env=colour_env(backend))
    seen = screen(raw)
    # Rich printed [bold] and [link=…] as text (and may wrap the line between the two).
    assert f"stat {SHOWN}: message {SHOWN}" in " ".join(seen.split())
    assert "[red]1[/red]" in seen


def test_show_json_round_trips_the_original_strings(backend: Backend) -> None:
    job_id = hostile_job(backend)
    for env in (colour_env(backend), {**os.environ, **backend.env}):
        done = run_piped(backend, "show", job_id, "--json", env=env)
        job = json.loads(done.stdout)
        assert job["created_by"] == USER
        assert job["context"] == {"text": HOSTILE, "n": "[red]1[/red]"}
        assert HOSTILE in job["result"]["errors"][0]["message"]
        assert "\x1b" not in done.stdout  # json.dumps escaped them


def test_watch_plain_and_on_a_terminal_is_safe(backend: Backend) -> None:
    made = backend.run("create", "--type", "test-hostile", "--dry-run", "-q")
    assert made.code == 0, made.stderr
    job_id = made.stdout.strip()
    assert backend.cli("cancel", job_id, "-q").code == 0
    # watch prints a job's id, type, status and progress; of these only the type is text, so make it hostile.
    hostile_type = "t\x1b]0;pwned\x07[red]x[/red]\u202e\x9b"
    with backend.database().transaction() as tx:
        tx.execute("UPDATE batch_job SET type = :type WHERE id = :id", {"type": hostile_type, "id": job_id})
    piped = run_piped(backend, "watch", job_id, env=colour_env(backend))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == f"{job_id} {terminal_safe(hostile_type)} canceled -\n"
    code, raw, err = run_in_terminal(backend, "watch", job_id, env=colour_env(backend))
    assert code == 0, err
    assert "\x1b]" not in raw and "\x07" not in raw and "\x9b" not in raw and "\u202e" not in raw
    assert "t\\x1b]0;pwned\\x07[red]x[/red]" in screen(raw)


def test_workers_and_strategies_are_safe(backend: Backend) -> None:
    from batchctl import presence
    from batchctl.db import utcnow

    assert backend.cli("list").code == 0  # the embedded database makes its schema on first use
    with backend.database().transaction() as tx:
        presence.register(tx, f"vm:1:{HOSTILE}", host="vm", pid=1, concurrency=1, queue=HOSTILE, now=utcnow())
    for env in (colour_env(backend), {**os.environ, **backend.env}):
        for args in (("workers",), ("strategies",)):
            done = run_piped(backend, *args, env=env)
            assert done.returncode == 0, done.stderr
            assert unsafe_characters(done.stdout) == [], done.stdout
        code, raw, err = run_in_terminal(backend, "workers", env=colour_env(backend))
        assert code == 0, err
        assert unsafe_characters(screen(raw)) == [], raw
        assert "[bold]x[/bold]" in screen(raw)
    strategies = run_piped(backend, "strategies", env=colour_env(backend)).stdout
    assert "Echoes \\x1b]0;pwned\\x07 its context" in strategies


@pytest.mark.parametrize(
    "job_id",
    ["batch_x\x1b]0;pwned\x07", "batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X\n", "batch_\u202e\x9b[bold]x"],
    ids=["osc", "trailing-newline", "bidi-c1-markup"],
)
def test_the_error_line_is_one_safe_line(backend: Backend, job_id: str) -> None:
    for debug in ("0", "1"):
        done = subprocess.run(
            [*BATCHCTL, "show", job_id],
            env={**os.environ, **backend.env, "BATCHCTL_DEBUG": debug},
            cwd=backend.tmp,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2  # not an id: a trailing newline is no longer cut off and looked up
        assert unsafe_characters(done.stderr) == [], done.stderr
        if debug == "0":
            assert done.stderr.startswith("error: invalid batch job id ") and done.stderr.count("\n") == 1
