"""Serving copies too large for one channel item: pages written once under the version.

A channel item normally carries its version's builds and artifacts inline, so the consumer
query is one GetItem. A version whose copy would pass `channels.INLINE_COPY_BYTES` (say 350
builds with kilobytes of custom_data each) keeps its copy in up to `MAX_PAGES` page items
(storage.versions: copy pages) written before the version becomes active; channels holding
it carry the generation and page count instead, and the consumer query reads the pages with
one Query more. A version whose copy would not fit even so is refused before anything is
written (recording.py). Pages are rewritten under a new generation when builds are added,
and channels are pointed at it before the old generation is deleted, so a reader never
sees a mix.
"""

from __future__ import annotations

from typing import Any

from .. import storage
from ..storage import Action

PAGE_BYTES = 300_000
MAX_PAGES = 3  # ~900 KB: one Query (1 MB) reads every page
MAX_COPY_BYTES = PAGE_BYTES * MAX_PAGES


def size(served: list[dict[str, Any]]) -> int:
    return storage.item_size({"builds": served})


def split(served: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Builds packed into pages of at most PAGE_BYTES (a build larger than a page is refused
    earlier, by recording.py's item-size check)."""
    pages: list[list[dict[str, Any]]] = [[]]
    used = 0
    for build in served:
        weight = storage.item_size(build)
        if pages[-1] and used + weight > PAGE_BYTES:
            pages.append([])
            used = 0
        pages[-1].append(build)
        used += weight
    return pages


def page_writes(bucket: str, number: int, generation: int, served: list[dict[str, Any]]) -> list[Action]:
    """The puts of a copy's pages, for transactions of a few pages each."""
    return storage.versions.put_copy_pages(bucket, number, generation, split(served))


def read(bucket: str, number: int, copy: dict[str, Any]) -> list[dict[str, Any]]:
    """The builds of a paged copy: one Query."""
    return storage.versions.copy_pages(bucket, number, copy["generation"])
