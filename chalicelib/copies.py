"""Serving copies too large for one channel item: pages written once under the version.

A channel item normally carries its version's builds and artifacts inline, so the consumer
query is one GetItem. A version whose copy would pass `channels.INLINE_COPY_BYTES` (say 350
builds with kilobytes of custom_data each) keeps its copy in up to `MAX_PAGES` page items
(`COPY#<n>#<generation>#<page>`) written before the version becomes active; channels holding
it carry the generation and page count instead, and the consumer query reads the pages with
one Query more. A version whose copy would not fit even so is refused before anything is
written (recording.py). Pages are rewritten under a new generation when builds are added,
and channels are pointed at it before the old generation is deleted, so a reader never
sees a mix.
"""

from __future__ import annotations

from typing import Any

from . import store

PAGE_BYTES = 300_000
MAX_PAGES = 3  # ~900 KB: one Query (1 MB) reads every page
MAX_COPY_BYTES = PAGE_BYTES * MAX_PAGES


def size(served: list[dict[str, Any]]) -> int:
    return store.item_size({"builds": served})


def split(served: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Builds packed into pages of at most PAGE_BYTES (a build larger than a page is refused
    earlier, by recording.py's item-size check)."""
    pages: list[list[dict[str, Any]]] = [[]]
    used = 0
    for build in served:
        weight = store.item_size(build)
        if pages[-1] and used + weight > PAGE_BYTES:
            pages.append([])
            used = 0
        pages[-1].append(build)
        used += weight
    return pages


def page_items(bucket: str, number: int, generation: int, served: list[dict[str, Any]]) -> list[store.Item]:
    return [{**store.copy_key(bucket, number, generation, index), "builds": page}
            for index, page in enumerate(split(served))]


def page_keys(bucket: str, version: dict[str, Any]) -> list[store.Item]:
    """The keys of a version's current copy pages (none for an inline copy)."""
    if not version.get("copy_pages"):
        return []
    return [store.copy_key(bucket, version["number"], version["copy_generation"], index)
            for index in range(version["copy_pages"])]


def read(bucket: str, number: int, copy: dict[str, Any]) -> list[dict[str, Any]]:
    """The builds of a paged copy: one Query."""
    items, _ = store.query_page(store.bucket_key(bucket)[store.PK],
                                prefix=store.copy_prefix(number, copy["generation"]))
    return [build for item in sorted(items, key=lambda i: i[store.SK]) for build in item["builds"]]


def stale_keys(bucket: str, number: int, keep_generation: int | None) -> list[store.Item]:
    """Pages of other generations than the current one (left by added builds), to delete."""
    items = store.query_all(store.bucket_key(bucket)[store.PK], prefix=store.copies_prefix(number),
                            projection="PK, SK")
    current = store.copy_prefix(number, keep_generation) if keep_generation is not None else None
    return [store.strip_to_key(i) for i in items if not (current and i[store.SK].startswith(current))]
