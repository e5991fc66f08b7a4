"""The backfill of the version indexes, a bounded step of every sweep until it is done.

Versions written since the status index (GSI3) and the platform index exist are put in
them by the writes themselves, and a bucket created since then says so (`indexed_since`).
The versions of older buckets are put in by this backfill: bucket by bucket (by name),
oldest version first, at most BACKFILL_PER_RUN versions a sweep (a Query of its builds and
one transaction each), from a cursor kept between runs; a bucket gets `indexed_since` once
all its versions are done. Until then its status and platform filters filter the page read
(services/versions.py), and its older versions are found by platform, region or labels
only once backfilled. Once every bucket is done, the run that finds it so notes
`backfilled` on the counts item, which every sweep reads at its start: from then on the
backfill costs nothing (a registry whose cursor said `done` before that note existed gets it
on its next sweep).
"""

from __future__ import annotations

from .. import storage
from ..storage import entities
from ..runtime.clock import now_iso
from ..runtime.observability import logger

BACKFILL_PER_RUN = 100
BUCKETS_PER_READ = 25


def backfill(budget: int | None = None) -> int:
    """Backfill up to `budget` versions; how many were done. A version whose status changes
    between its read and its write stops the run: it is done again by the next."""
    budget = budget or BACKFILL_PER_RUN
    state = storage.sweep.backfill_state()
    if state.get("done"):
        storage.sweep.mark_backfilled()  # once: later sweeps see it on the counts item and skip this read
        return 0
    bucket, after, passed = state.get("bucket"), state.get("after"), state.get("passed")
    done, finished = 0, False
    try:
        while done < budget:
            if bucket is None:
                bucket, after = _next_unindexed(passed), None
                if bucket is None:
                    finished = True
                    logger.info("version indexes backfilled")
                    break
            versions, more = storage.versions.oldest_after(bucket, after, budget - done)
            for version, sort_key in versions:
                builds = [] if isinstance(version, entities.Draft) else \
                    storage.versions.with_builds(bucket, version.number)[1]
                storage.transact(storage.versions.reindex(version, builds))
                after, done = sort_key, done + 1
            if not more:
                storage.buckets.mark_indexed(bucket, now_iso())
                passed, bucket, after = bucket, None, None
    except storage.ConditionFailed:
        pass
    finally:
        storage.sweep.save_backfill_state({"done": True} if finished else
                                          {"bucket": bucket, "after": after, "passed": passed})
        if finished:
            storage.sweep.mark_backfilled()
    return done


def _next_unindexed(name: str | None) -> str | None:
    """The first bucket after `name` without `indexed_since`, reading a page of names at a time."""
    while True:
        page = storage.buckets.after(name, BUCKETS_PER_READ)
        for bucket in page:
            if bucket.indexed_since is None:
                return bucket.bucket
        if len(page) < BUCKETS_PER_READ:
            return None
        name = page[-1].bucket
