"""Parents and children of versions: resolving hints, link statuses, the descendant tree.

A version's parents are recorded on its item (`parents`: bucket, version, number,
fingerprint, channel, how each was found) and as child-edge items under each parent, so
"children of v5" is one Query. Hints that match nothing are kept as `unresolved` (and
listed for the sweep to retry) rather than dropped.

A link's status uses HCP Packer's names: `up_to_date`; `out_of_date` (the recorded parent
channel now points at another version; without a channel, the parent bucket's `latest` has
moved past the parent); `undetermined` (the channel or the parent was deleted, or the hint
matched nothing); and ours, `parent_revoked` (the parent is revoked but this version was
spared). A version's status is its worst link.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from . import audit, store, versions
from .channels import LATEST
from .clock import now_iso
from .errors import BadRequest, NotFound
from .manifest import ParsedRun

# Worst last: a version's ancestry status is the worst of its links.
SEVERITY = ("up_to_date", "undetermined", "out_of_date", "parent_revoked")
FLAGGED_STATUSES = {"undetermined", "out_of_date", "parent_revoked"}
_STATUS_EVENTS = {"out_of_date": "descendant.outdated", "parent_revoked": "descendant.parent_revoked",
                  "undetermined": "descendant.undetermined"}
Action = dict[str, Any]


# ---- resolution (at ingestion, retried by the sweep) ------------------------------------

def resolve(bucket: str, run: ParsedRun) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(parents, unresolved hints) for a run: explicit hints first, then source artifacts.

    Explicit: `parent_bucket` with `parent_version` and/or `parent_channel` (a channel alone
    means the version it points at now). Automatic: a build's source artifact ID that an
    indexed artifact of the registry carries (any platform).
    """
    parents: list[dict[str, Any]] = []
    unresolved: list[dict[str, Any]] = []
    hint = run.parent_hint
    if hint and hint.bucket:
        link, problem = _explicit(hint.bucket, hint.version, hint.channel)
        if link:
            parents.append(link)
        else:
            unresolved.append({**hint.model_dump(include={"bucket", "version", "channel"}, exclude_none=True),
                               "reason": problem})
    sources = sorted({b.source_artifact for b in run.builds if b.source_artifact}
                     | ({hint.source_artifact} if hint and hint.source_artifact else set()))
    for source in sources:
        link = _by_artifact(source)
        if link is None:
            unresolved.append({"source_artifact": source,
                               "reason": f"no artifact {source!r} in the registry (yet)"})
        elif not any(p["bucket"] == link["bucket"] and p["number"] == link["number"] for p in parents):
            parents.append(link)
    return parents, unresolved


def _explicit(bucket: str, version: str | None, channel: str | None) -> tuple[dict[str, Any] | None, str]:
    if channel and not version:
        item = store.get(store.channel_key(bucket, channel))
        if not item or not item.get("number"):
            return None, f"bucket {bucket!r} has no channel {channel!r} pointing at a version"
        return _link(item["bucket"], item["number"], item["version"], item["fingerprint"], channel,
                     "parent_channel", item.get("version_status"), item.get("revocation")), ""
    try:
        number = versions.resolve_number(bucket, version or "")
    except (NotFound, BadRequest):
        return None, f"bucket {bucket!r} has no version {version!r}"
    item = store.get(store.version_key(bucket, number))
    if not item:
        return None, f"bucket {bucket!r} has no version {version!r}"
    return _link(bucket, number, item["name"], item["fingerprint"], channel, "parent_version", item["status"],
                 item.get("revocation")), ""


def _by_artifact(external_id: str) -> dict[str, Any] | None:
    matches = list(store.query_all(f"ARTIFACT#{external_id}"))
    if not matches:
        return None
    newest = max(matches, key=lambda m: (m["created_at"], m["number"]))
    item = store.get(store.version_key(newest["bucket"], newest["number"]))
    if not item:
        return None
    return _link(item["bucket"], item["number"], item["name"], item["fingerprint"], None, "source_artifact",
                 item["status"], item.get("revocation"))


def _link(bucket: str, number: int, name: str, fingerprint: str, channel: str | None, found_by: str,
          status: str | None, revocation: dict[str, Any] | None) -> dict[str, Any]:
    # `parent_status` and `parent_revocation` serve only while creating the child (revoked on
    # arrival when the parent is); they are not stored.
    return {"bucket": bucket, "number": number, "version": name, "fingerprint": fingerprint,
            "channel": channel, "found_by": found_by, "parent_status": status, "parent_revocation": revocation}


def stored_links(parents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if not k.startswith("parent_")} for p in parents]


def inherited_revocation(parents: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The revocation a new version inherits from a revoked parent (unless the parent's
    revocation spared descendants), or None."""
    for p in parents:
        revocation = p.get("parent_revocation") or {}
        if p.get("parent_status") == "revoked" and not revocation.get("skip_descendants_revocation"):
            return {"reason": revocation.get("reason"), "revoked_at": now_iso(), "revoked_by": "registry",
                    "revocation_type": "inherited", "inherited_from": f"{p['bucket']}/{p['version']}",
                    "skip_descendants_revocation": False, "disable_rollback_channels": False}
    return None


def edge_actions(child_bucket: str, child_number: int, parents: list[dict[str, Any]]) -> list[Action]:
    return [store.put_action({**store.child_key(p["bucket"], p["number"], child_bucket, child_number),
                              "parent_bucket": p["bucket"], "parent_number": p["number"],
                              "child_bucket": child_bucket, "child_number": child_number})
            for p in parents]


# ---- link status ------------------------------------------------------------------------

def evaluate(parents: list[dict[str, Any]], unresolved: list[dict[str, Any]] | None = None,
             revoked: bool = False) -> tuple[str | None, list[dict[str, Any]]]:
    """(overall status, links with `status` and `message`), one BatchGet for every parent,
    channel and `latest` involved. No parents and no hints: (None, []). `revoked`: the
    version itself is revoked, so a revoked parent did not spare it."""
    keys: dict[str, dict[str, Any]] = {}
    for p in parents:
        for key in (store.version_key(p["bucket"], p["number"]), store.channel_key(p["bucket"], p["channel"] or LATEST)):
            keys[key[store.PK] + key[store.SK]] = key
    found = {i[store.PK] + i[store.SK]: i for i in store.get_many(list(keys.values()))} if keys else {}
    links = []
    for p in parents:
        parent = found.get(_id(store.version_key(p["bucket"], p["number"])))
        channel = found.get(_id(store.channel_key(p["bucket"], p["channel"] or LATEST)))
        status, message = _link_status(p, parent, channel, revoked)
        links.append({**p, "status": status, "message": message})
    for hint in unresolved or []:
        links.append({"bucket": hint.get("bucket"), "version": hint.get("version"), "channel": hint.get("channel"),
                      "source_artifact": hint.get("source_artifact"), "found_by": "unresolved",
                      "status": "undetermined", "message": f"parent not found: {hint.get('reason')}"})
    if not links:
        return None, []
    return max((link["status"] for link in links), key=SEVERITY.index), links


def _id(key: dict[str, Any]) -> str:
    return key[store.PK] + key[store.SK]


def _link_status(link: dict[str, Any], parent: dict[str, Any] | None, channel: dict[str, Any] | None,
                 revoked: bool = False) -> tuple[str, str]:
    where = f"parent {link['bucket']}"
    if parent is None:
        return "undetermined", f"{where} {link['version']} was deleted"
    if parent.get("status") == "revoked":
        reason = (parent.get("revocation") or {}).get("reason")
        fate = "this version is revoked too" if revoked else "this version was spared"
        return "parent_revoked", f"{where} {link['version']} is revoked ({reason}); {fate}"
    if link.get("channel"):
        if channel is None:
            return "undetermined", f"{where} channel {link['channel']} was deleted; this was built from {link['version']}"
        if channel.get("number") != link["number"]:
            now_at = channel.get("version") or "nothing"
            return "out_of_date", (f"{where} channel {link['channel']} now points at {now_at}; "
                                   f"this was built from {link['version']}")
        return "up_to_date", f"{where} channel {link['channel']} still points at {link['version']}"
    if channel and channel.get("number", 0) > link["number"]:
        return "out_of_date", f"{where} latest is now {channel['version']}; this was built from {link['version']}"
    return "up_to_date", f"{where} {link['version']} is still its newest version"


def attention(links: list[dict[str, Any]]) -> list[str]:
    """The sentences of the links that are not up to date."""
    return [link["message"] for link in links if link["status"] != "up_to_date"]


def status_actions(version: dict[str, Any], status: str | None, messages: list[str]) -> list[Action]:
    """Store a version's ancestry status, and keep the flagged list (the report) in step:
    it lists versions still in use whose ancestry needs attention, never revoked ones."""
    key = store.version_key(version["bucket"], version["number"])
    actions = [store.update_action(
        key, "SET ancestry_status = :s, ancestry_messages = :m, ancestry_checked_at = :now" if status
        else "REMOVE ancestry_status, ancestry_messages SET ancestry_checked_at = :now",
        {":now": now_iso(), **({":s": status, ":m": messages} if status else {})},
        condition="attribute_exists(PK)")]
    return actions + [flag_action(version, status, messages)]


def flag_action(version: dict[str, Any], status: str | None, messages: list[str]) -> Action:
    """Put the version on the flagged list, or take it off: only usable versions are listed."""
    flag = store.flagged_key(version["bucket"], version["number"])
    if status in FLAGGED_STATUSES and version.get("status") != "revoked":
        return store.put_action({**flag, "bucket": version["bucket"], "version": version["name"],
                                 "number": version["number"], "ancestry_status": status,
                                 "messages": messages, "flagged_at": now_iso()})
    return store.delete_action(flag)


# ---- reads ------------------------------------------------------------------------------

def child_refs(bucket: str, number: int) -> list[tuple[str, int]]:
    return [(e["child_bucket"], e["child_number"])
            for e in store.query_all(store.bucket_key(bucket)[store.PK], prefix=store.child_prefix(number))]


def _summaries(refs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    items = store.get_many([store.version_key(b, n) for b, n in refs]) if refs else []
    by_ref = {(i["bucket"], i["number"]): i for i in items}
    return [_summary(by_ref[r]) for r in refs if r in by_ref]


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {"bucket": item["bucket"], "version": item["name"], "fingerprint": item["fingerprint"],
            "status": item["status"], "ancestry_status": item.get("ancestry_status"),
            "revocation": item.get("revocation")}


def ancestry(bucket: str, ref: str) -> dict[str, Any]:
    """Parents with their live status and the direct children of a version."""
    version, _ = versions.load(bucket, ref)
    status, links = evaluate(version.get("parents", []), version.get("unresolved", []),
                             version["status"] == "revoked")
    return {"bucket": bucket, "version": version["name"], "fingerprint": version["fingerprint"],
            "status": version["status"], "ancestry_status": status,
            "parents": [{k: v for k, v in link.items() if k != "number"} for link in links],
            "children": _summaries(child_refs(bucket, version["number"]))}


def descendants(bucket: str, ref: str, max_depth: int, max_nodes: int = 500) -> dict[str, Any]:
    """The descendant tree, breadth first, to `max_depth` levels; each node once (a cycle,
    impossible by construction, would stop at a node already seen)."""
    if not 1 <= max_depth <= 20:
        raise BadRequest("depth must be from 1 to 20")
    root, _ = versions.load(bucket, ref)
    nodes: dict[tuple[str, int], dict[str, Any]] = {(bucket, root["number"]): {**_summary(root), "children": []}}
    queue = deque([((bucket, root["number"]), 0)])
    truncated = False
    while queue:
        ref_, depth = queue.popleft()
        refs = child_refs(*ref_)
        if depth >= max_depth:
            truncated = truncated or bool(refs)
            continue
        fresh = [r for r in refs if r not in nodes]
        if len(nodes) + len(fresh) > max_nodes:
            fresh, truncated = fresh[:max_nodes - len(nodes)], True
        for child in _summaries(fresh):
            key = (child["bucket"], int(child["version"][1:]))
            nodes[key] = {**child, "children": []}
            nodes[ref_]["children"].append(nodes[key])
            queue.append((key, depth + 1))
    return {"root": nodes[(bucket, root["number"])], "count": len(nodes) - 1, "truncated": truncated}


def retry_unresolved(bucket: str, number: int) -> list[dict[str, Any]]:
    """Try a version's unresolved hints again (the sweep); returns the links newly found."""
    version = store.get(store.version_key(bucket, number))
    if not version or not version.get("unresolved"):
        store.delete(store.unresolved_key(bucket, number))
        return []
    parents = list(version.get("parents") or [])
    still, found = [], []
    for hint in version["unresolved"]:
        if hint.get("source_artifact"):
            link = _by_artifact(hint["source_artifact"])
        else:
            link, _ = _explicit(hint["bucket"], hint.get("version"), hint.get("channel"))
        known = link and any(p["bucket"] == link["bucket"] and p["number"] == link["number"] for p in parents)
        if link and not known and (link["bucket"], link["number"]) != (bucket, number):
            found.append(link)
            parents.append(stored_links([link])[0])
        elif not link:
            still.append(hint)
    if not found:
        return []
    status, links = evaluate(parents, still)
    update, flag = status_actions(version, status, attention(links))
    body = update["Update"]
    body["UpdateExpression"] += ", parents = :p" + (", unresolved = :u" if still else " REMOVE unresolved")
    body["ExpressionAttributeValues"].update({":p": parents, **({":u": still} if still else {})})
    actions = [update, flag, *edge_actions(bucket, number, found),
               audit.event_action(bucket, "version.parents_resolved", version["name"], "sweep",
                                  after=[f"{p['bucket']}/{p['version']}" for p in found])]
    if not still:
        actions.append(store.delete_action(store.unresolved_key(bucket, number)))
    audit.commit(actions)
    return stored_links(found)


def recheck(bucket: str, number: int) -> tuple[dict[str, Any], str | None, str | None] | None:
    """Re-evaluate one version's links; store and return (version, old, new) when it changed."""
    version = store.get(store.version_key(bucket, number))
    if not version or version["status"] == "revoked" or not (version.get("parents") or version.get("unresolved")):
        return None  # a revoked version is out of use: its stored ancestry is left as it was
    status, links = evaluate(version.get("parents", []), version.get("unresolved", []),
                             version["status"] == "revoked")
    old = version.get("ancestry_status")
    if status == old:
        return None
    messages = attention(links)
    event = audit.event_action(bucket, _STATUS_EVENTS.get(status, "descendant.up_to_date"), version["name"], "sweep",
                               before=old, after=status, messages=messages)
    audit.commit(status_actions(version, status, messages) + [event])
    return version, old, status
