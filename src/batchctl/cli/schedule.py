"""``batchctl schedule``: jobs on a timetable, created by the workers, one per tick across the fleet."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from batchctl.cli import render
from batchctl.cli.jobs import JsonOption, parse_context
from batchctl.cli.options import ContextFileOption, ContextOption, JobType, PairsOption
from batchctl.cli.runtime import client, creating_client
from batchctl.errors import BadInput

app = typer.Typer(
    name="schedule",
    help="Create jobs on a timetable (cron or a fixed interval); the workers create them, one per tick.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The schedule's name.")]


@app.command("add")
def add(
    name: Name,
    batch_type: JobType,
    cron: Annotated[str | None, typer.Option("--cron", help='A 5-field cron expression, like "0 3 * * *".')] = None,
    every: Annotated[str | None, typer.Option("--every", help="A fixed interval, like 2s, 15m or 1h.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="The time zone --cron is read in (IANA name).")] = "UTC",
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    pairs: PairsOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Each job stops after pre-processing until `confirm`.")
    ] = False,
    catch_up: Annotated[
        str, typer.Option("--catch-up", help="Ticks missed while no worker ran: none, one (a single job) or all.")
    ] = "one",
    no_overlap: Annotated[
        bool, typer.Option("--no-overlap", help="Skip a tick while the schedule's previous job has not ended.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a schedule; its context is checked by the strategy now and again at each tick.

    Example: batchctl schedule add nightly-export --type product-export --cron "0 3 * * *" --tz Europe/Paris
    """
    from batchctl import schedules
    from batchctl.timetable import CatchUp, Timetable, parse_every

    schedules.check_name(name)
    if cron is not None and every is not None:
        raise BadInput("give --cron or --every, not both")
    if cron is None and every is None:
        raise BadInput('a schedule needs --cron (like "0 3 * * *") or --every (like 15m)')
    if every is not None and tz != "UTC":
        raise BadInput('--tz applies to --cron only; for a time of day use --cron, like --cron "0 0 * * *" --tz ' + tz)
    try:
        policy = CatchUp(catch_up)
    except ValueError:
        raise BadInput(f"--catch-up {catch_up!r} is not a policy; expected one of: none, one, all") from None
    timetable = Timetable(cron, parse_every(every) if every is not None else None, tz)
    spec = schedules.ScheduleSpec(
        name=name,
        batch_type=batch_type,
        timetable=timetable,
        context=parse_context(context, context_file, pairs or []),
        dry_run=dry_run,
        catch_up=policy,
        no_overlap=no_overlap,
    )
    creating_client().schedules().add(spec)
    _print_one(name, as_json=as_json)


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List the schedules: next run, last run, last job and its status, missed ticks.

    Example: batchctl schedule list --json | jq '.schedules[] | {name, next_run_at}'
    """
    from batchctl import schedule_service

    found = [schedule_service.public_schedule(row) for row in client().schedules().list()]
    if as_json:
        render.emit_json({"schedules": found, "count": len(found)})
        return
    render.emit_table(
        ["NAME", "TYPE", "WHEN", "STATUS", "NEXT RUN", "LAST RUN", "LAST JOB", "MISSED"],
        [_row(schedule) for schedule in found],
    )


def _row(schedule: dict[str, Any]) -> list[str]:
    last = schedule["last_run"]
    job = schedule["last_job"]
    return [
        schedule["name"],
        schedule["type"],
        schedule["timetable"],
        schedule["status"],
        schedule["next_run_at"] or "-",
        f"{last['tick_at']} {last['outcome']}" if last else "-",
        f"{job['id']} {job['status']}" if job else "-",
        str(schedule["missed_ticks"]),
    ]


def _print_one(name: str, *, as_json: bool) -> None:
    from batchctl import schedule_service

    schedule = schedule_service.public_schedule(client().schedules().get(name))
    if as_json:
        render.emit_json(schedule)
        return
    render.emit_line(f"{schedule['name']}  {schedule['type']}  {schedule['timetable']}  {schedule['status']}")
    if schedule["next_run_at"]:
        render.emit_line(f"  next run at {schedule['next_run_at']}")


@app.command("pause")
def pause(name: Name, as_json: JsonOption = False) -> None:
    """Stop creating the schedule's jobs until `resume`."""
    client().schedules().pause(name)
    _print_one(name, as_json=as_json)


@app.command("resume")
def resume(name: Name, as_json: JsonOption = False) -> None:
    """Create the schedule's jobs again, from its next tick on (ticks that fell while paused are not caught up)."""
    client().schedules().resume(name)
    _print_one(name, as_json=as_json)


@app.command("remove")
def remove(name: Name) -> None:
    """Delete the schedule and its tick history; the jobs it created stay."""
    client().schedules().remove(name)


@app.command("run")
def run(
    name: Name,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the job id.")] = False,
) -> None:
    """Create one job of the schedule now, outside its timetable.

    Example: id=$(batchctl schedule run nightly-export -q)
    """
    from batchctl.cli.jobs import _print_job
    from batchctl.client import BatchJob

    _print_job(BatchJob.from_row(client().schedules().run(name)), as_json=as_json, quiet=quiet)


def register(root: typer.Typer) -> None:
    """Add ``batchctl schedule …`` to ``root``."""
    root.add_typer(app)
