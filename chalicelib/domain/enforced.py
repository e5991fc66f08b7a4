"""Enforced provisioner blocks (HCP Packer's "enforced blocks"): what a request may store.

A block is a named, versioned piece of Packer configuration (`provisioner` blocks, in HCL or
JSON) that Packer 1.16+ fetches for the bucket it builds into (GetEnforcedBlocksByBucket) and
appends to every build's provisioners unless run with `-skip-enforcement`. The registry keeps
the text as given and does not evaluate it: Packer parses it (HCL first, then HCL JSON, then
the legacy `{"provisioners": [{"type": …}]}`: packer hcl2template/enforced_provisioner_parser.go),
so the check here only refuses text in which Packer would find no provisioner at all.

The caps keep each item far below DynamoDB's 400 KB and let a bucket's links (each a copy of
its version's text) come back in one Query page of 1 MB for about thirty blocks of the largest
size (services/enforced.py).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from .enums import TemplateType
from .models import Body, Description, LabelMap

MAX_CONTENT_BYTES = 32 * 1024  # UTF-8 bytes of one version's block_content
MAX_LINK_CHANGES = 24  # buckets linked plus buckets unlinked by one ManageEnforcedBlockLinkedBuckets
# A block's name: human-readable (spaces allowed inside), unique in the project.
BLOCK_NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$"
# A version's label (`1`, `v2`, `1.4.0`): unique in its block.
VERSION_LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"
_HCL_PROVISIONER = re.compile(r'^\s*provisioner\s+"[^"]+"\s*\{', re.MULTILINE)
NO_PROVISIONER = ('block_content holds no provisioner block: give one or more `provisioner "<type>" { … }` blocks '
                  '(HCL), or {"provisioner": [{"<type>": {…}}]} (JSON)')


def holds_provisioner(content: str) -> bool:
    """Whether Packer can find a provisioner in `content`: an HCL `provisioner "<type>" {`
    at the start of a line, or a JSON object with `provisioner` (HCL JSON) or `provisioners`
    (the legacy JSON payload)."""
    if _HCL_PROVISIONER.search(content):
        return True
    try:
        parsed: Any = json.loads(content)
    except ValueError:
        return False
    return isinstance(parsed, dict) and bool(parsed.get("provisioner") or parsed.get("provisioners"))


def _content(value: str) -> str:
    size = len(value.encode())
    if size > MAX_CONTENT_BYTES:
        raise ValueError(f"at most {MAX_CONTENT_BYTES:,} bytes (UTF-8), not {size:,}")
    if not holds_provisioner(value):
        raise ValueError(NO_PROVISIONER)
    return value


BlockName = Annotated[str, StringConstraints(pattern=BLOCK_NAME_PATTERN)]
VersionLabel = Annotated[str, StringConstraints(pattern=VERSION_LABEL_PATTERN)]
BlockContent = Annotated[str, StringConstraints(min_length=1), AfterValidator(_content)]


class VersionChange(Body):
    """UpdateEnforcedBlockVersion: a version's note is all that changes (its text never does)."""

    additional_description: Description = ""


class NewVersion(VersionChange):
    """A version of a block: its text, how it is written, its label (None: the next number,
    `1`, `2`, … as Packer's own tests name them) and a note."""

    block_content: BlockContent
    template_type: TemplateType = TemplateType.HCL2
    version: VersionLabel | None = None


class NewBlock(NewVersion):
    """CreateEnforcedBlock: the block and its first version."""

    name: BlockName
    labels: LabelMap = Field(default_factory=dict)


class BlockChange(Body):
    """UpdateEnforcedBlock: the fields its `update_mask` names (None: left as they are)."""

    name: BlockName | None = None
    labels: LabelMap | None = None
