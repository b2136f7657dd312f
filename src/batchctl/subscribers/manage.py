"""What ``batchctl webhooks`` and ``batchctl subscribers`` do: add, list, remove, test, inspect, replay."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchctl import bounds
from batchctl.db import Row, utcnow
from batchctl.errors import BadInput, NotFound
from batchctl.runtime import Runtime
from batchctl.store import iso
from batchctl.subscribers import cursors, webhooks
from batchctl.subscribers.api import check_events

WEBHOOK_PREFIX = "wh_"
WEBHOOK_MAX_TIMEOUT = 300.0  # seconds a webhook may take to answer (webhooks add --timeout)


@dataclass(frozen=True)
class Webhook:
    """One webhook as ``webhooks list`` shows it (never its secret)."""

    id: str
    url: str
    events: tuple[str, ...]
    types: tuple[str, ...]
    timeout_seconds: float
    max_attempts: int
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The webhook as ``webhooks list --json`` prints it."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "types": list(self.types),
            "timeout_seconds": self.timeout_seconds,
            "max_attempts": self.max_attempts,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SubscriberStatus:
    """One subscriber or webhook as ``batchctl subscribers`` shows it."""

    name: str
    kind: str
    source: str
    origin: str
    events: tuple[str, ...]
    types: tuple[str, ...]
    cursor: int
    lag: int  # events after the cursor, not yet looked at
    pending: int  # deliveries still to make (due now or after a backoff) or in flight
    failing: int  # of those, the ones that failed at least once
    parked: int
    done: int
    seen_at: str | None

    def to_json(self) -> dict[str, Any]:
        """The subscriber as ``subscribers --json`` prints it."""
        shown = dict(vars(self))
        shown.update(events=list(self.events), types=list(self.types))
        return shown


def _webhook(row: Row) -> Webhook:
    return Webhook(
        id=row["name"],
        url=row["origin"],
        events=tuple(row["events"]),
        types=tuple(row["types"]),
        timeout_seconds=float(row["timeout_seconds"] or webhooks.DEFAULT_TIMEOUT),
        max_attempts=int(row["max_attempts"]),
        created_at=iso(row["created_at"]),
    )


class Subscriptions:
    """The subscribers and webhooks of one database (``Jobs.subscriptions``)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # -- webhooks ------------------------------------------------------------------------------------------

    def add_webhook(
        self,
        url: str,
        *,
        events: Sequence[str] = (),
        types: Sequence[str] = (),
        secret: str | None = None,
        timeout: float = webhooks.DEFAULT_TIMEOUT,
        max_attempts: int = webhooks.DEFAULT_MAX_ATTEMPTS,
    ) -> tuple[Webhook, str]:
        """Add a webhook for future events; returns it and its signing secret (shown to the user once)."""
        webhooks.check_url(url)
        try:
            names = check_events(events)
        except ValueError as error:
            raise BadInput(f"--events: {error}") from None
        bounds.seconds("--timeout", timeout, high=WEBHOOK_MAX_TIMEOUT)
        bounds.ATTEMPTS.check("--max-attempts", max_attempts)
        if secret is not None and not secret.strip():
            raise BadInput("the secret read from stdin is empty; give one, or leave out --secret-stdin")
        secret = secret.strip() if secret is not None else webhooks.new_secret()
        webhook_id = WEBHOOK_PREFIX + secrets.token_hex(6)
        row = {
            "name": webhook_id,
            "kind": "webhook",
            "source": "webhooks add",
            "origin": url,
            "events": list(names),
            "types": list(types),
            "max_attempts": max_attempts,
            "timeout_seconds": timeout,
            "secret": secret,
        }
        with self.runtime.db.transaction() as tx:
            cursors.upsert_subscriber(tx, row, utcnow())
        return self._get_webhook(webhook_id), secret

    def list_webhooks(self) -> list[Webhook]:
        """Every webhook, by id."""
        return [_webhook(row) for row in self._rows() if row["kind"] == "webhook"]

    def remove_webhook(self, webhook_id: str) -> None:
        """Remove a webhook, its pending deliveries and its delivery log."""
        self._get_webhook(webhook_id)
        with self.runtime.db.transaction() as tx:
            tx.execute("DELETE FROM batch_subscriber WHERE name = :id AND kind = 'webhook'", {"id": webhook_id})

    def test_webhook(self, webhook_id: str) -> webhooks.Answer:
        """POST a signed ``webhook.test`` event to the webhook now (not logged, not retried)."""
        row = self._row(webhook_id, kind="webhook")
        delivery_id = f"{webhook_id}:test-{secrets.token_hex(4)}"
        event: dict[str, Any] = {
            "id": 0,
            "job_id": None,
            "name": "webhook.test",
            "created_at": iso(utcnow()),
            "data": {},
        }
        return webhooks.post(
            row["origin"],
            webhooks.payload(delivery_id, event, None),
            secret=row["secret"] or "",
            delivery_id=delivery_id,
            event_name="webhook.test",
            timeout=float(row["timeout_seconds"] or webhooks.DEFAULT_TIMEOUT),
        )

    def deliveries(self, webhook_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """The webhook's delivery log, newest attempt first."""
        bounds.LIMIT.check("--limit", limit)
        self._get_webhook(webhook_id)
        with self.runtime.db.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT a.*, d.event_id, d.job_id, d.status, e.name AS event FROM batch_delivery_attempt a "
                "JOIN batch_delivery d ON d.id = a.delivery_id JOIN batch_job_event e ON e.id = d.event_id "
                "WHERE d.subscriber = :id ORDER BY a.id DESC LIMIT :limit",
                {"id": webhook_id, "limit": limit},
            ).all()
        return [
            {
                "delivery": f"{webhook_id}:{row['event_id']}",
                "event_id": row["event_id"],
                "event": row["event"],
                "job_id": row["job_id"],
                "attempt": row["attempt"],
                "started_at": iso(row["started_at"]),
                "status_code": row["status_code"],
                "latency_ms": row["latency_ms"],
                "outcome": row["outcome"],
                "next_try_at": iso(row["next_try_at"]),
                "error": row["error"],
                "status": row["status"],
            }
            for row in rows
        ]

    # -- every subscriber --------------------------------------------------------------------------------

    def status(self) -> list[SubscriberStatus]:
        """Every subscriber and webhook: where it came from, its cursor, its lag, failures and parked events."""
        self._register_python()
        with self.runtime.db.transaction(write=False) as tx:
            counts = {
                (row["subscriber"], row["status"], bool(row["failed"])): int(row["n"])
                for row in tx.execute(
                    "SELECT subscriber, status, attempts > 0 AND last_error IS NOT NULL AS failed, COUNT(*) AS n "
                    "FROM batch_delivery GROUP BY subscriber, status, attempts > 0 AND last_error IS NOT NULL"
                ).all()
            }
            lags = {
                row["name"]: int(row["lag"])
                for row in tx.execute(
                    "SELECT s.name, (SELECT COUNT(*) FROM batch_job_event e WHERE e.id > s.cursor) AS lag "
                    "FROM batch_subscriber s"
                ).all()
            }

        def count(name: str, *statuses: str, failed: bool | None = None) -> int:
            return sum(
                n
                for (subscriber, status, was_failed), n in counts.items()
                if subscriber == name and status in statuses and (failed is None or was_failed == failed)
            )

        return [
            SubscriberStatus(
                name=row["name"],
                kind=row["kind"],
                source=row["source"],
                origin=row["origin"],
                events=tuple(row["events"]),
                types=tuple(row["types"]),
                cursor=int(row["cursor"]),
                lag=lags.get(row["name"], 0),
                pending=count(row["name"], "pending", "delivering"),
                failing=count(row["name"], "pending", "delivering", failed=True),
                parked=count(row["name"], "parked"),
                done=count(row["name"], "done"),
                seen_at=iso(row["seen_at"]),
            )
            for row in self._rows()
        ]

    def replay(self, name: str, *, since: datetime, parked_only: bool = False) -> int:
        """Deliver again the subscriber's events since ``since`` (only parked ones, with ``parked_only``)."""
        row = self._row(name)
        with self.runtime.db.transaction() as tx:
            return cursors.replay(tx, row, since=since, parked_only=parked_only, now=utcnow())

    # -- rows ---------------------------------------------------------------------------------------------------

    def _register_python(self) -> None:
        """Record the Python subscribers this machine has, so that they count from now on."""
        from batchctl.subscribers.deliver import python_row
        from batchctl.subscribers.registry import load_subscribers

        found = load_subscribers(self.runtime.settings.subscriber_paths)
        if found:
            with self.runtime.db.transaction() as tx:
                for info in found.values():
                    cursors.upsert_subscriber(tx, python_row(info), utcnow())

    def _rows(self) -> list[Row]:
        with self.runtime.db.transaction(write=False) as tx:
            return cursors.all_subscribers(tx)

    def _row(self, name: str, *, kind: str | None = None) -> Row:
        for row in self._rows():
            if row["name"] == name and (kind is None or row["kind"] == kind):
                return row
        what = "webhook" if kind == "webhook" else "subscriber"
        raise NotFound(f"{what} {name} was not found (see `batchctl {what}s`)")

    def _get_webhook(self, webhook_id: str) -> Webhook:
        return _webhook(self._row(webhook_id, kind="webhook"))
