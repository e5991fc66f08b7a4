"""DynamoDB calls per bulk-revocation batch (`.venv/bin/python scripts/bench_bulk_revocation.py`).

Reuses bench/run.py's counter and registry (moto in-process, the botocore hook on the
registry's own client, the local runner's moto patches: moto's speed changes, never the calls
counted). A bucket of 2 x BATCH_SIZE versions (one build each; a `production` channel on the
newest), then a bulk revocation the request leaves wholly to the sweep (INLINE_BATCHES 0): one
batch is counted as the sweep's step runs it (`revocations.advance`, BATCHES_PER_RUN 1), for a
filter on the versions' dates (no builds read) and one on build labels (one Query per version).
Prints the calls per batch, per version, and by operation.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import fresh_registry, manifest, build  # noqa: E402  (sets the environment first)
from chalicelib.services import revocations  # noqa: E402

FAR_FUTURE = "2100-01-01T00:00:00Z"


def measure(criteria: dict) -> None:
    revocations.INLINE_BATCHES, revocations.BATCHES_PER_RUN = 0, 1
    size = revocations.BATCH_SIZE
    with fresh_registry() as reg:
        reg.ingest("web/m.json", manifest([build("ubuntu", f"run-{i:04d}", regions=("us-east-1",), os="debian",
                                                 fingerprint=f"fp-{i:04d}") for i in range(2 * size)]))
        reg.send("post", "/buckets/web/channels", {"name": "production", "version": f"v{2 * size}"}, 201)
        job = reg.send("post", "/buckets/web/revocations", {"reason": "bench", "filter": criteria}, status=202)
        n, calls, _ = reg.count(revocations.advance)
        done = reg.get(f"/revocations/{job['id']}")["counts"]["revoked"]
        print(f"filter {criteria}: one batch revoked {done} versions in {n} DynamoDB calls "
              f"({n / max(done, 1):.1f} per version): {dict(collections.Counter(calls).most_common())}")


if __name__ == "__main__":
    measure({"created_before": FAR_FUTURE})
    measure({"labels": {"os": "debian"}})
