"""Ancestry findings: the facts recorded about a version's parent links, and their sentences.

A link's status comes with a *finding*: a small dict of facts (`kind`, `status`, the parent's
bucket and version, the channel involved and where it points now, a revocation reason, the
chain of outdated parents, ...). Findings are stored as facts (on the version as
`ancestry_findings`, on its flagged item, in the sweep's report), and sentences are written
from them when a response is built, for the caller asking.

Why facts and not sentences: a viewer may not see restricted channels (`latest` included,
as in HCP Packer), so for a viewer no sentence or field names a channel that is restricted
*now* (or no longer exists), nor where it points: "parent base has a newer version in use
than v1, which this was built from" instead of "parent base channel production now points
at v2; this was built from v1". Rendering at response time stays right when a channel's
`restricted` flag changes later; it costs a viewer one BatchGetItem of the channels named,
and contributors nothing.
"""

from __future__ import annotations

from typing import Any, Iterable

from .. import storage
from ..storage import entities
from .serving import seen_labels

# What a finding says, in words (pure, unit-tested): rules.py; re-exported for the callers here.
from ..domain import rules
from ..domain.rules import Finding, Shown, everything, how, nothing, resolution, sentence, untracked_note  # noqa: F401


def visibility(refs: Iterable[tuple[str, str]], see_restricted: bool) -> Shown:
    """Which of the channels named the caller may see: all for contributors (no call); for a
    viewer, those that exist now and are not restricted (one BatchGetItem)."""
    refs = set(refs)
    if see_restricted:
        return everything
    if not refs:
        return nothing
    items = storage.channels.channels(list(refs))
    open_ = {(i.bucket, i.name) for i in items if not i.restricted}
    return lambda bucket, channel: (bucket, channel) in open_


# ---- which channels a thing names ---------------------------------------------------------

def channels_in(findings: Iterable[Finding | None]) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()
    for f in findings:
        if not f:
            continue
        if f.get("channel") and f.get("bucket"):
            refs.add((f["bucket"], f["channel"]))
        refs |= channels_in([f.get("cause")])
    return refs


def channels_of_version(version: entities.Version) -> set[tuple[str, str]]:
    """Every channel a version's ancestry fields name: parents, hints, findings."""
    return channels_in([*(version.parents or []), *(version.unresolved or []), version.parent_hint or {},
                        *(version.ancestry_findings or [])])


# ---- sentences ----------------------------------------------------------------------------

def messages(findings: Iterable[Finding] | None, shown: Shown = everything) -> list[str]:
    return [sentence(f, shown) for f in findings or []]


def presented(findings: Iterable[Finding] | None, shown: Shown = everything) -> list[dict[str, Any]]:
    """Findings as every answer shows them (the API, the report, audit events and webhooks):
    each with its own status word, its sentence, and how its link was found."""
    return [{"status": f.get("status"), "message": sentence(f, shown), "how": how(f)} for f in findings or []]


def untracked(sources: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A version's untracked sources as answers show them: information, not a finding
    ("source not tracked: ami-0abc (us-east-1)")."""
    return [{**source, "message": untracked_note(source)} for source in sources or []]


def stored_findings(stored: list[Finding] | None, legacy: list[str] | None, shown: Shown,
                    status: str | None) -> list[dict[str, Any]]:
    """`presented` for a stored item's findings; an item written before findings were stored
    has sentences only (for contributors, as stored_messages): each under the item's status."""
    if stored is not None:
        return presented(stored, shown)
    return [{"status": status, "message": m, "how": None} for m in stored_messages(stored, legacy, shown)]


def stored_messages(stored: list[Finding] | None, legacy: list[str] | None, shown: Shown) -> list[str]:
    """The sentences for a stored item's findings. An item written before findings were stored
    (`legacy` sentences only, until the sweep checks it again) keeps them for contributors; a
    viewer gets none, since they may name a restricted channel."""
    if stored is not None:
        return messages(stored, shown)
    return list(legacy or []) if sees_all(shown) else []


def sees_all(shown: Shown) -> bool:
    """Whether `shown` is a caller who sees every channel (what `visibility` gives contributors)."""
    return shown is everything


# ---- shaping responses ----------------------------------------------------------------------

_LINK_INTERNALS = ("finding", "resolved_time", "build_time", "built_at", "parent_status",
                   "parent_revocation")


def link(item: dict[str, Any], shown: Shown = everything) -> dict[str, Any]:
    """A parent link (stored or live) as a response shows it: the channel only if the caller
    may see it (else neither is `resolved_at`, which tells whether the channel held a version
    at the build time), how it was resolved in words, the live status's sentence if evaluated."""
    shaped = {k: v for k, v in item.items() if k not in _LINK_INTERNALS}
    if shaped.get("channel") and not shown(item.get("bucket"), shaped["channel"]):
        shaped["channel"] = shaped["resolved_at"] = None
    if item.get("resolved_at"):
        shaped["resolution"] = resolution(item, shown)
    if item.get("finding"):
        shaped["message"] = sentence(item["finding"], shown)
        shaped["how"] = how(item["finding"])
    return shaped


def hint(item: dict[str, Any], shown: Shown = everything) -> dict[str, Any]:
    """A parent hint (or an unresolved one, with its reason) without a channel the caller may
    not see."""
    if not item.get("channel") or shown(item.get("bucket"), item["channel"]):
        return {k: v for k, v in item.items() if k != "built_at"}
    shaped = {k: v for k, v in item.items() if k not in ("channel", "built_at")}
    if "reason" in shaped:
        shaped["reason"] = sentence({**item, "kind": "unresolved"}, shown).removeprefix("parent not found: ")
    return shaped


def version(fields: dict[str, Any], shown: Shown = everything) -> dict[str, Any]:
    """A version item's ancestry fields as a response shows them (`ancestry_messages` written
    from the stored findings), and its builds' labels without those a viewer never sees
    (`parent_channel`: serving.hidden_labels)."""
    shaped = {k: v for k, v in fields.items() if k != "ancestry_findings"}
    if fields.get("parents"):
        origin = rules.origin(fields.get("template_type"))
        shaped["parents"] = [{**link(p, shown), "how": how(rules.provenance(p, origin))} for p in fields["parents"]]
    if fields.get("parent_hint"):
        shaped["parent_hint"] = hint(fields["parent_hint"], shown)
    if fields.get("unresolved"):
        shaped["unresolved"] = [hint(h, shown) for h in fields["unresolved"]]
    if "ancestry_findings" in fields or "ancestry_messages" in fields:
        shaped["ancestry_messages"] = stored_messages(fields.get("ancestry_findings"), fields.get("ancestry_messages"),
                                                      shown)
        shaped["ancestry_findings"] = stored_findings(fields.get("ancestry_findings"), fields.get("ancestry_messages"),
                                                      shown, fields.get("ancestry_status"))
    if fields.get("untracked"):
        shaped["untracked"] = untracked(fields["untracked"])
    if not sees_all(shown) and fields.get("builds"):
        shaped["builds"] = [{**b, "labels": seen_labels(b.get("labels"), False)} for b in fields["builds"]]
    return shaped
