"""One Packer run, one version, whichever doors it used: the reads and writes around the rules
of domain/duplicates.py (what "the same artifact" means is written there).

Recording a run (a manifest's, or an HCP draft's as its last build is done) that has no
version yet for its fingerprint first asks whether a version of the bucket already holds
every artifact of it:
- `look`: what recording reads first anyway (the bucket and the fingerprint), with the
  newest producers of the run's indexed artifact IDs and the bucket's run items of its
  Packer runs, in the same BatchGetItem (one more per 100 keys past the first 100);
- `holder`: when those name one version of the bucket, its builds (one Query) are compared
  with the run's; a run that names none (a new run: the usual case) costs nothing more;
- `claims`: the run items a new version writes in its creating transaction.
Two doors recording one Packer run at once both create a version of the bucket, so the
second creating transaction fails on the bucket's version counter (recording.py) and is
retried from its reads, which now find the first door's version (its newest-producer and
run items were written in its creating transaction): the two doors never make two versions
of one run. (A version too large for one transaction writes its builds afterwards: a door
racing it may not find them all yet, and then makes a version of its own.)
A manifest's duplicate run writes nothing (its ingestion record says `duplicate`, naming the
version and why); a duplicate draft completes into the version (`record_draft`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import audit, versions
from .. import storage
from ..domain import duplicates as rules
from ..domain.enums import AuditAction
from ..domain.manifest import ParsedRun
from ..storage import entities
from ..storage.versions import Arrival

Action = dict[str, Any]
SHOWN = 5  # artifacts named in the reason


@dataclass(frozen=True)
class Held:
    """The version that holds every artifact of a run, and a sentence saying so."""

    version: entities.Version
    why: str


def look(run: ParsedRun) -> Arrival:
    """The bucket, the fingerprint's version, and what names a version that may hold the run."""
    builds = _builds(run)
    return storage.versions.arrival(run.bucket, run.fingerprint, rules.indexed_ids(builds), rules.run_uuids(builds))


def holder(run: ParsedRun, seen: Arrival) -> Held | None:
    """The version of the bucket that holds every artifact of the run (one Query, only when
    the newest producers or the run items `look` read name exactly one), or None."""
    builds = _builds(run)
    named = rules.candidates(run.bucket, builds, {e: (p.bucket, p.number) for e, p in seen.producers.items()},
                             {u: r.number for u, r in seen.runs.items()})
    if seen.bucket is None or len(named) != 1:
        return None
    version, kept = storage.versions.with_builds(run.bucket, named.pop())
    described = rules.held(builds, [b.attributes() for b in kept]) if version else None
    if version is None or not described:
        return None
    shown = ", ".join(described[:SHOWN]) + (f" and {len(described) - SHOWN} more" if len(described) > SHOWN else "")
    runs = ", ".join(rules.run_uuids(builds))
    return Held(version, f"duplicate of {version.name} (fingerprint {version.fingerprint}): every artifact of run "
                         f"{run.fingerprint} ({shown}) is {version.name}'s, made by the same Packer run ({runs}); "
                         "recorded against it: nothing stored, no channel moved")


def claims(run: ParsedRun, seen: Arrival) -> list[Action]:
    """The run items of the version the run is about to become (the bucket's next number as
    `look` read it), for its creating transaction."""
    number = (seen.bucket.last_taken() if seen.bucket else 0) + 1
    return storage.versions.put_runs(run.bucket, number, rules.run_uuids(_builds(run)))


def record_draft(held: Held, fingerprint: str, finishing: list[Action], actor: str) -> None:
    """Complete an HCP draft into the version that holds its artifacts: the draft goes
    (`finishing`, conditioned on it as read), its fingerprint names that version from now on
    (GetVersion, a channel assignment by fingerprint and a re-run of `packer build` with it
    find the version, complete), and nothing else changes: no version, no build, no move."""
    version = held.version
    audit.commit([*finishing, *storage.versions.add_alias(version, fingerprint),
                  audit.event_action(version.bucket, AuditAction.VERSION_DUPLICATE, version.name, actor,
                                     after={"fingerprint": fingerprint, "why": held.why})])


def _builds(run: ParsedRun) -> list[Mapping[str, Any]]:
    """The run's builds as stored builds' attributes, what the rules compare."""
    return [versions.build_item(run.bucket, 0, b, "").attributes() for b in run.builds]
