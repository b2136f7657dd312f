"""The seeds' example job: publish the catalog's draft products, in chunks, with a dry-run preview.

    batchctl products seed --count 500
    batchctl create --type publish-products --dry-run      # a worker counts the drafts
    batchctl confirm ID                                    # a worker publishes them

Context (all optional): ``chunk_size`` (products per committed chunk, default 500) and ``handles``
(publish only these).
"""

from __future__ import annotations

from typing import Any

from batchctl import BatchJobStrategy, Job
from batchctl.db import Tx, utcnow

CONTEXT_KEYS = ("chunk_size", "handles")
PREVIEW_SIZE = 5


class PublishProducts(BatchJobStrategy):
    """Publishes draft products (context: chunk_size, handles)."""

    identifier = "publish-products-strategy"
    batch_type = "publish-products"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Accept only the known keys, with sane values."""
        unknown = sorted(set(context) - set(CONTEXT_KEYS))
        if unknown:
            raise ValueError(f"unknown context key {unknown[0]!r}; expected some of: {', '.join(CONTEXT_KEYS)}")
        chunk_size = context.get("chunk_size", 500)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
        prepared: dict[str, Any] = {"chunk_size": chunk_size}
        if "handles" in context:
            handles = context["handles"]
            if isinstance(handles, str):
                handles = [h for h in handles.split(",") if h]
            if not isinstance(handles, list) or not handles or not all(isinstance(h, str) for h in handles):
                raise ValueError("handles must be a non-empty list of product handles")
            prepared["handles"] = sorted(set(handles))
        return prepared

    def pre_process(self, job: Job) -> None:
        """Count the drafts to publish and preview the first few; fix the set as of now."""
        with job.transaction() as tx:
            where, params = _drafts(tx, job.context)
            count = int(tx.execute(f"SELECT COUNT(*) FROM product WHERE {where}", params).scalar())
            # Products created after this point are not part of the job: the count stays true.
            last_id = tx.execute(f"SELECT MAX(id) FROM product WHERE {where}", params).scalar()
            preview = tx.execute(
                f"SELECT handle FROM product WHERE {where} ORDER BY id LIMIT {PREVIEW_SIZE}", params
            ).all()
        job.set_count(count)
        job.set_result(last_id=last_id, preview=[row["handle"] for row in preview])
        job.add_stat("products-to-publish", "Products to publish", f"{count} draft products will be published")

    def process(self, job: Job) -> None:
        """Publish chunk by chunk; each chunk commits with its progress, so a resume skips nothing."""
        last_id = job.result.get("last_id")
        if last_id is None:
            return
        chunk_size = int(job.context["chunk_size"])
        while True:
            with job.transaction() as tx:
                where, params = _drafts(tx, job.context)
                ids = [
                    row["id"]
                    for row in tx.execute(
                        f"SELECT id FROM product WHERE {where} AND id <= :last_id ORDER BY id LIMIT :n",
                        {**params, "last_id": last_id, "n": chunk_size},
                    ).all()
                ]
                if not ids:
                    return
                placeholders, id_params = tx.in_list("id", ids)
                tx.execute(
                    f"UPDATE product SET status = 'published', updated_at = :now WHERE id IN ({placeholders})",
                    {**id_params, "now": utcnow()},
                )
                job.advance(len(ids))


def _drafts(tx: Tx, context: Any) -> tuple[str, dict[str, Any]]:
    if "handles" not in context:
        return "status = 'draft'", {}
    placeholders, params = tx.in_list("handle", list(context["handles"]))
    return f"status = 'draft' AND handle IN ({placeholders})", params
