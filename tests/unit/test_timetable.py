"""Timetables: cron in a time zone across the 2026 DST changes, intervals, and what a worker does with due ticks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchctl.errors import BadInput
from batchctl.timetable import GRACE, MAX_TICKS, CatchUp, Timetable, format_seconds, parse_every, plan

# The 2026 transitions: clocks go forward (02:30 does not exist), then back (02:30 happens twice in Paris).
TRANSITIONS = {
    "Europe/Paris": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
}


def _ticks_over(timetable: Timetable, start: datetime, end: datetime) -> list[datetime]:
    ticks: list[datetime] = []
    for tick in timetable.ticks(start):
        if tick >= end:
            return ticks
        ticks.append(tick)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("tz", sorted(TRANSITIONS))
@pytest.mark.parametrize("which", ["forward", "back"])
def test_a_0230_daily_schedule_runs_once_each_day_across_the_2026_dst_changes(tz: str, which: str) -> None:
    zone = ZoneInfo(tz)
    day = TRANSITIONS[tz][0 if which == "forward" else 1]
    first = datetime.combine(day - timedelta(days=3), datetime.min.time(), zone)
    last = datetime.combine(day + timedelta(days=4), datetime.min.time(), zone)
    ticks = _ticks_over(Timetable("30 2 * * *", None, tz), first.astimezone(UTC), last.astimezone(UTC))

    local_days = Counter(tick.astimezone(zone).date() for tick in ticks)
    assert local_days == {day + timedelta(days=offset): 1 for offset in range(-3, 4)}
    assert len(set(ticks)) == len(ticks) == 7
    on_the_day = next(tick.astimezone(zone) for tick in ticks if tick.astimezone(zone).date() == day)
    if which == "forward":  # 02:30 does not exist that night: it runs when the clocks jump, at 03:00
        assert (on_the_day.hour, on_the_day.minute) == (3, 0)
    else:  # in Paris 02:30 happens twice; it runs at the first one only (New York repeats 01:00-02:00 instead)
        assert (on_the_day.hour, on_the_day.minute, on_the_day.fold) == (2, 30, 0)
    # Every other day keeps its wall-clock time.
    assert all(
        (t.astimezone(zone).hour, t.astimezone(zone).minute) == (2, 30)
        for t in ticks
        if t.astimezone(zone).date() != day
    )


def test_cron_ticks_are_read_in_the_schedules_time_zone() -> None:
    paris = Timetable("0 3 * * *", None, "Europe/Paris")
    assert paris.next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    assert paris.next_after(datetime(2026, 7, 1, tzinfo=UTC)) == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


def test_every_ticks_on_multiples_of_the_interval() -> None:
    every = Timetable(None, 15 * 60)
    assert every.next_after(datetime(2026, 1, 1, 10, 7, 3, tzinfo=UTC)) == datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    assert every.next_after(datetime(2026, 1, 1, 10, 15, tzinfo=UTC)) == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "every", "tz", "message"),
    [
        ("61 * * * *", None, "UTC", "not a valid cron expression: Bad minute; expected 5 fields"),
        ("0 3 * *", None, "UTC", "not a valid cron expression"),
        ("0 3 * * *", None, "Mars/Olympus", "--tz 'Mars/Olympus' is not a known time zone"),
        (None, None, "UTC", "either --cron or --every"),
        ("0 3 * * *", 60, "UTC", "either --cron or --every"),
        (None, 0, "UTC", "at least 1s"),
    ],
)
def test_bad_timetables_are_refused(cron: str | None, every: int | None, tz: str, message: str) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        Timetable(cron, every, tz)


def test_a_cron_that_never_fires_is_refused() -> None:
    with pytest.raises(BadInput, match="never fires"):
        Timetable("* * */20 * 1L", None).next_after(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("text", "seconds"), [("2s", 2), ("15m", 900), ("1h", 3600), ("1d", 86400)])
def test_parse_every_round_trips_through_format(text: str, seconds: int) -> None:
    assert parse_every(text) == seconds
    assert format_seconds(seconds) == text


@pytest.mark.parametrize("text", ["0s", "1.5s", "soon", "-5m"])
def test_parse_every_refuses(text: str) -> None:
    with pytest.raises(BadInput, match="--every"):
        parse_every(text)


T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TWO_SECONDS = Timetable(None, 2)


def test_a_tick_handled_in_time_makes_one_job() -> None:
    done = plan(TWO_SECONDS, T0, T0 + timedelta(seconds=0.5), CatchUp.ONE)
    assert [(run.tick, run.catch_up) for run in done.runs] == [(T0, False)]
    assert done.missed is None and done.next_tick == T0 + timedelta(seconds=2)


def test_missed_ticks_follow_the_catch_up_policy() -> None:
    now = T0 + timedelta(seconds=10.5)  # ticks 0, 2, 4, 6, 8 were missed; 10 is on time
    one = plan(TWO_SECONDS, T0, now, CatchUp.ONE)
    assert [(r.tick, r.catch_up, r.ticks, r.first) for r in one.runs] == [
        (T0 + timedelta(seconds=8), True, 5, T0),
        (T0 + timedelta(seconds=10), False, 1, None),
    ]
    none = plan(TWO_SECONDS, T0, now, CatchUp.NONE)
    assert [r.tick for r in none.runs] == [T0 + timedelta(seconds=10)]
    assert none.missed == (T0, T0 + timedelta(seconds=8), 5)
    every = plan(TWO_SECONDS, T0, now, CatchUp.ALL)
    assert [r.catch_up for r in every.runs] == [True] * 5 + [False]
    assert one.next_tick == none.next_tick == every.next_tick == T0 + timedelta(seconds=12)


def test_a_long_outage_makes_one_catch_up_job_not_one_per_slice() -> None:
    week_later = T0 + timedelta(days=7, seconds=1)  # 302,401 ticks of 2 s
    done = plan(TWO_SECONDS, T0, week_later, CatchUp.ONE)
    assert [(r.catch_up, r.ticks) for r in done.runs] == [(True, 302_400), (False, 1)]
    assert done.next_tick == T0 + timedelta(days=7, seconds=2)
    daily = Timetable("0 3 * * *", None, "Europe/Paris")
    start = daily.next_after(T0)
    years = plan(daily, start, start + timedelta(days=5 * 365, hours=5), CatchUp.NONE)
    assert years.runs == () and years.missed is not None and years.missed[2] >= MAX_TICKS
    assert years.next_tick == daily.next_after(start + timedelta(days=5 * 365, hours=5))


def test_a_daily_tick_more_than_the_grace_late_is_a_catch_up() -> None:
    daily = Timetable("0 3 * * *", None, "Europe/Paris")
    tick = daily.next_after(T0)
    assert plan(daily, tick, tick + GRACE / 2, CatchUp.ONE).runs[0].catch_up is False
    late = plan(daily, tick, tick + 2 * GRACE, CatchUp.ONE)
    assert [(r.tick, r.catch_up) for r in late.runs] == [(tick, True)]
    assert plan(daily, tick, tick + 2 * GRACE, CatchUp.NONE).missed == (tick, tick, 1)


@given(
    every=st.integers(min_value=1, max_value=7200),
    start_offset=st.integers(min_value=0, max_value=10**6),
    elapsed=st.floats(min_value=0, max_value=4 * 10**5, allow_nan=False),
    policy=st.sampled_from(list(CatchUp)),
)
def test_plan_accounts_for_every_due_tick_exactly_once(
    every: int, start_offset: int, elapsed: float, policy: CatchUp
) -> None:
    timetable = Timetable(None, every)
    first = timetable.next_after(T0 + timedelta(seconds=start_offset))
    now = first + timedelta(seconds=elapsed)
    done = plan(timetable, first, now, policy)
    covered = sum(run.ticks for run in done.runs) + (done.missed[2] if done.missed else 0)
    # Every due tick once; only a job per tick (all) works through a long outage a slice at a time.
    # Counted from the moment itself: timedelta rounds ``elapsed`` to microseconds, maybe onto a tick.
    due = (now - first) // timedelta(seconds=every) + 1
    handled = min(due, MAX_TICKS) if policy is CatchUp.ALL else due
    assert covered == handled
    assert done.next_tick == first + timedelta(seconds=every * handled)
    ticks = [run.tick for run in done.runs]
    assert len(set(ticks)) == len(ticks) and all(first <= tick <= now for tick in ticks)
    assert ticks == sorted(ticks)
    assert sum(not run.catch_up for run in done.runs) <= 1
    assert policy is not CatchUp.ONE or sum(run.catch_up for run in done.runs) <= 1
    if done.missed is not None:
        assert done.missed[0] == first and done.missed[1] < now
