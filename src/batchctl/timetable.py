"""When a schedule's ticks fall, and what to do with the ticks that are due: pure functions, no I/O.

Cron expressions are parsed and walked by ``cronsim`` (which follows Debian cron, DST quirks included:
a 02:30 job runs at 03:00 on the night the clocks skip 02:30, and once, at the first 02:30, on the night
they repeat it); time zones are ``zoneinfo``'s. ``--every`` ticks fall on multiples of the interval since
the Unix epoch, so ``--every 15m`` ticks at :00, :15, :30 and :45 whichever machine computes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from batchctl.errors import BadInput

if TYPE_CHECKING:
    from cronsim import CronSim

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A tick handled later than this after its time (or after the next tick fell) was missed, not merely late.
GRACE = timedelta(seconds=60)
# The most ticks one call enumerates: the rest of a long outage is counted on the next call.
MAX_TICKS = 1000


class CatchUp(StrEnum):
    """What to do with the ticks nobody handled in time (no worker ran)."""

    NONE = "none"  # record them as missed, create nothing
    ONE = "one"  # one job for all of them, marked as a catch-up
    ALL = "all"  # one job for each of them


@dataclass(frozen=True)
class Timetable:
    """A cron expression in a time zone, or a fixed interval."""

    cron: str | None
    every_seconds: int | None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every_seconds is None):
            raise BadInput("give a schedule either --cron or --every, not both and not neither")
        zone(self.tz)
        if self.cron is not None:
            self._cron(EPOCH)  # refuse a bad expression now, not at the first tick
        elif self.every_seconds is not None and self.every_seconds < 1:
            raise BadInput(f"--every must be at least 1s, got {self.every_seconds}s")

    def _cron(self, after: datetime) -> CronSim:
        from cronsim import CronSim, CronSimError

        assert self.cron is not None
        try:
            return CronSim(self.cron, after.astimezone(zone(self.tz)))
        except CronSimError as error:
            raise BadInput(
                f'--cron "{self.cron}" is not a valid cron expression: {error}; '
                'expected 5 fields (minute hour day-of-month month day-of-week) like "0 3 * * *"'
            ) from None

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``, in UTC."""
        if self.every_seconds is not None:
            elapsed = (moment - EPOCH) // timedelta(seconds=self.every_seconds)
            return EPOCH + timedelta(seconds=self.every_seconds * (elapsed + 1))
        try:
            return next(self._cron(moment)).astimezone(UTC)
        except StopIteration:  # cronsim found no match in 50 years (e.g. "0 0 30 2 *")
            raise BadInput(
                f'--cron "{self.cron}" never fires; expected an expression that matches a real date'
            ) from None

    def last_at_or_before(self, moment: datetime) -> datetime:
        """The last tick at or before ``moment``, in UTC (without walking every tick up to it)."""
        if self.every_seconds is not None:
            elapsed = (moment - EPOCH) // timedelta(seconds=self.every_seconds)
            return EPOCH + timedelta(seconds=self.every_seconds * elapsed)
        from cronsim import CronSim

        assert self.cron is not None
        later = moment + timedelta(microseconds=1)
        found: datetime = next(CronSim(self.cron, later.astimezone(zone(self.tz)), reverse=True)).astimezone(UTC)
        return found

    def count(self, first: datetime, last: datetime) -> int:
        """How many ticks fall in [first, last]: exact for ``--every``; for cron, at most MAX_TICKS are walked."""
        if self.every_seconds is not None:
            return max(0, (last - first) // timedelta(seconds=self.every_seconds) + 1)
        counted = 0
        for tick in self.ticks(first):
            if tick > last or counted == MAX_TICKS:
                break
            counted += 1
        return counted

    def ticks(self, start: datetime) -> Iterator[datetime]:
        """``start`` if it is a tick, then every tick after it, in UTC."""
        if self.cron is not None:  # one walk, not a parse per tick
            for tick in self._cron(start - timedelta(microseconds=1)):
                yield tick.astimezone(UTC)
            return
        tick = start if self.next_after(start - timedelta(microseconds=1)) == start else self.next_after(start)
        while True:
            yield tick
            tick = self.next_after(tick)

    def describe(self) -> str:
        """``cron "0 3 * * *" Europe/Paris`` or ``every 15m``."""
        if self.cron is not None:
            return f'cron "{self.cron}" {self.tz}'
        assert self.every_seconds is not None
        return f"every {format_seconds(self.every_seconds)}"


def timetable_of_row(row: Mapping[str, Any]) -> Timetable:
    """A schedule row's timetable."""
    return Timetable(row["cron"], row["every_seconds"], row["tz"])


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``; BadInput naming it otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(
            f"--tz {name!r} is not a known time zone; expected an IANA name like Europe/Paris or UTC"
        ) from None


def parse_every(text: str) -> int:
    """``--every`` as whole seconds: ``90s``, ``15m``, ``12h``, ``1d``."""
    from batchctl.timeparse import parse_age

    seconds = parse_age(text, option="--every").total_seconds()
    if seconds < 1 or seconds != int(seconds):
        raise BadInput(f"--every {text!r} must be a whole number of seconds, at least 1s, like 2s, 15m or 1h")
    return int(seconds)


def format_seconds(seconds: int) -> str:
    """An interval in the largest unit that divides it: ``15m``, ``2s``, ``1d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Run:
    """A job to create: for ``tick``, standing for ``ticks`` ticks from ``first`` (more than one for a catch-up)."""

    tick: datetime
    catch_up: bool
    ticks: int = 1
    first: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """What to do with the due ticks: the jobs to create, the ticks recorded as missed, the next tick to wait for."""

    runs: tuple[Run, ...]
    missed: tuple[datetime, datetime, int] | None  # first, last, how many (catch-up none)
    next_tick: datetime


def plan(timetable: Timetable, next_tick: datetime, now: datetime, catch_up: CatchUp) -> Plan:
    """What a worker does at ``now`` for a schedule whose earliest unhandled tick is ``next_tick``.

    The last due tick is on time when it is at most GRACE old; every tick before it was missed (no
    worker ran when it fell) and ``catch_up`` decides: record them, one catch-up job for all, or one each.
    """
    due: list[datetime] = []
    following = next_tick
    for tick in timetable.ticks(next_tick):
        if tick > now or len(due) == MAX_TICKS:
            following = tick
            break
        due.append(tick)
    if not due:
        return Plan((), None, following)
    capped = following <= now  # more ticks are due than one call walks
    if catch_up is CatchUp.ALL:  # one job per tick: a long outage is worked through MAX_TICKS at a time
        on_time = not capped and due[-1] + GRACE >= now
        late = [Run(tick, catch_up=True) for tick in (due[:-1] if on_time else due)]
        return Plan((*late, *([Run(due[-1], catch_up=False)] if on_time else [])), None, following)
    # One job or none for the missed ticks however many they are: jump to the end of a long outage.
    last, count = due[-1], len(due)
    if capped:
        last = timetable.last_at_or_before(now)
        count = timetable.count(next_tick, last)
        following = timetable.next_after(last)
    runs: list[Run] = []
    if last + GRACE >= now:
        runs.append(Run(last, catch_up=False))
        count -= 1
        last = due[-2] if not capped and count else timetable.last_at_or_before(last - timedelta(microseconds=1))
    if count <= 0:
        return Plan(tuple(runs), None, following)
    if catch_up is CatchUp.ONE:
        return Plan((Run(last, catch_up=True, ticks=count, first=next_tick), *runs), None, following)
    return Plan(tuple(runs), (next_tick, last, count), following)
