"""The seeds' example job: publish the catalog's draft products, in chunks, with a dry-run preview.

    batchctl products seed --count 500
    batchctl create --type publish-products --dry-run      # a worker counts the drafts
    batchctl confirm ID                                    # a worker publishes them

Context (all optional): ``chunk_size`` (products per committed chunk, default 5000) and ``handles``
(publish only these).
"""

from __future__ import annotations

from typing import Any

from batchctl import BadContext, BatchJobStrategy, Job, check_keys, positive_int
from batchctl.db import Tx, utcnow

CONTEXT_KEYS = ("chunk_size", "handles")
PREVIEW_SIZE = 5
# Every commit has a fixed cost (the job's row, index pages the next chunk writes again). On 1M drafts,
# chunks of 500 took about 1.3x (SQLite) to 1.5x (PostgreSQL) as long as chunks of 5000, which took as
# long as 50000; a chunk of 5000 still commits in well under a second, so cancel and SIGTERM act promptly.
DEFAULT_CHUNK_SIZE = 5000


class PublishProducts(BatchJobStrategy):
    """Publishes draft products (context: chunk_size, handles)."""

    identifier = "publish-products-strategy"
    batch_type = "publish-products"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Accept only the known keys, with sane values."""
        check_keys(context, allowed=CONTEXT_KEYS)
        prepared: dict[str, Any] = {"chunk_size": positive_int(context, "chunk_size", default=DEFAULT_CHUNK_SIZE)}
        if "handles" in context:
            handles = context["handles"]
            if isinstance(handles, str):
                handles = [h for h in handles.split(",") if h]
            if not isinstance(handles, list) or not handles or not all(isinstance(h, str) for h in handles):
                raise BadContext("handles must be a non-empty list of product handles")
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
        """Publish chunk by chunk; each chunk commits with its progress, so a resume skips nothing.

        A chunk is a range of ids: the drafts after the previous chunk, up to the chunk_size-th of them.
        Seeking past the previous chunk keeps each chunk's cost the same however far the job has got
        (PostgreSQL keeps the index entries of the rows already published until it vacuums). A resumed
        job starts from the first id again: what it published before is no longer a draft.
        """
        last_id = job.result.get("last_id")
        if last_id is None:
            return
        chunk_size = int(job.context["chunk_size"])
        after = ""  # below every id
        while True:
            with job.transaction() as tx:
                where, params = _drafts(tx, job.context)
                bounds = {**params, "after": after, "last_id": last_id}
                upto = tx.execute(
                    f"SELECT MAX(id) FROM (SELECT id FROM product WHERE {where} AND id > :after AND id <= :last_id "
                    "ORDER BY id LIMIT :n) AS chunk",
                    {**bounds, "n": chunk_size},
                ).scalar()
                if upto is None:
                    return
                published = tx.execute(
                    f"UPDATE product SET status = 'published', updated_at = :now "
                    f"WHERE {where} AND id > :after AND id <= :upto",
                    {**bounds, "upto": upto, "now": utcnow()},
                ).rowcount
                job.advance(published)
            after = upto


def _drafts(tx: Tx, context: Any) -> tuple[str, dict[str, Any]]:
    if "handles" not in context:
        return "status = 'draft'", {}
    placeholders, params = tx.in_list("handle", list(context["handles"]))
    return f"status = 'draft' AND handle IN ({placeholders})", params
