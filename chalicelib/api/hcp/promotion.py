"""AssignChannelVersion (`POST P/buckets/{b}/channels/assign`): a promotion, the version one
channel holds given to another (`{source_channel, target_channel}`), through the native
channel rules (services/channels.assign_from).

HCP Packer's answers where it was seen (HCP-API-COMPAT.md §8): into the managed `latest` is
HTTP 400 code 9 `Cannot assign to managed channel 'latest'`; a missing bucket or channel is
404 code 5 in its usual words (the target is never created; a name no channel can have
names none). Where it was not seen, the
native rules answer: a source holding no version, or a revoked one, is 400 code 9; the same
channel on both sides, or either missing from the body, is 400 code 3 naming the field. The
answer is `{fingerprint, source_channel, target_channel, version}`, both channels with the
version they now hold (its builds included, as GetChannel embeds them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...domain import names
from ...errors import Conflict
from ...runtime.lazy import lazy
from . import wire
from .errors import InvalidField
from .requests import Body, text
from .resources import bucket_item, missing_channel, shaped_version

if TYPE_CHECKING:
    from ...services import channels
else:
    channels = lazy("chalicelib.services.channels")

Json = dict[str, Any]


def assign_channel_version(bucket: str, data: Body, actor: str) -> Json:
    source = text(data, "source_channel", required=True) or ""
    target = text(data, "target_channel", required=True) or ""
    if source == target:
        raise InvalidField("body.target_channel", "target_channel must be another channel than source_channel")
    for name in (source, target):  # a name no channel can have names none
        if names.bad_path_parameter({"channel": name}):
            bucket_item(bucket)
            raise missing_channel(name)
    try:
        source_item, target_item, chosen = channels.assign_from(bucket, source, target, actor)
    except channels.Managed:
        raise Conflict(f"Cannot assign to managed channel '{target}'") from None
    except channels.MissingChannel as missing:
        bucket_item(bucket)  # which is missing: the bucket (read only on this path), or the channel
        raise missing_channel(missing.name) from None
    version = shaped_version(chosen.version, chosen.builds, True)
    return {"fingerprint": chosen.version.fingerprint, "source_channel": wire.channel(source_item, version),
            "target_channel": wire.channel(target_item, version), "version": version}

