"""Pagination tokens: one page of a list clients page through, and its sealed `next_token`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, Callable

from .errors import BadToken
from .schema import INDEXES, PK, SK
from .expressions import Filter
from .table import Item, query_page

# ---- pagination tokens ------------------------------------------------------------------
#
# A `next_token` is the Query's LastEvaluatedKey, sealed for the list that made it, so that a
# client can neither read it (a viewer's page of channels may stop at a restricted one) nor
# forge, alter or move it to another list (an ExclusiveStartKey outside the list's partition
# or prefix is a ValidationException on DynamoDB). Sealing is a deterministic SIV scheme
# built from the standard library: tag = HMAC-SHA256(mac key, list || key)[:16]; the key is
# XORed with SHAKE-256(encryption key || tag); the token is base64url(tag || ciphertext).
# Both keys are derived from auth.signing_key(). The list is its index, partition, key
# prefix and direction, so a token only opens the list that issued it; anything else is a
# 400. Rotating the signing key ends the tokens in flight (clients start from page one).
#
# `seal`/`unseal` are the scheme itself, for any JSON value under any scope: a walk that
# continues across requests (the descendant tree) seals its state the same way, under a
# scope of its own that no list's scope equals.

TOKEN_TAG_BYTES = 16
BAD_TOKEN = ("next_token does not belong to this list (it is from another list, was altered, or predates the "
             "registry's signing key): request the first page again without it")


def list_page(partition: str, token: str | None, *, index: str | None = None, prefix: str | None = None,
              between: tuple[str, str] | None = None, newest_first: bool = False, limit: int | None = None,
              where: Filter | None = None, projection: str | None = None,
              group: Callable[[Item], Any] | None = None) -> tuple[list[Item], str | None]:
    """One page of a list clients page through: (items, next_token or None).

    The start comes from `token`, which must have been issued by this very list (else a
    400), and the next token is sealed for it. `where` filters the `limit` items read (a
    short page, next_token still set); the token is the list's position, so it stays valid
    whatever filter the next page asks for. `between` (low, high: inclusive, a key
    condition) narrows the sort key to a range, which is part of the list (a token of one
    range opens no other).

    `group` keeps items that give it the same value on one page: the Query reads one item more
    than `limit`, and when the page's last group goes on past it, the page ends before that
    group, which the next page starts with (unless it is the whole page: it is then split, as
    it cannot fit one).
    """
    scope = list_scope(partition, index=index, prefix=prefix, newest_first=newest_first, between=between)
    start = decode_token(token, scope)
    items, last = query_page(partition, index=index, prefix=prefix, between=between, newest_first=newest_first,
                             limit=limit + 1 if group and limit else limit, start=start, where=where,
                             projection=projection)
    if group:
        items, last = _whole_groups(items, last, limit, group, [PK, SK, *(INDEXES[index] if index else ())])
    return items, encode_token(last, scope)


def _whole_groups(items: list[Item], last: Item | None, limit: int | None, group: Callable[[Item], Any],
                  key: list[str]) -> tuple[list[Item], Item | None]:
    """A page of at most `limit` items (from `limit` + 1 read) that ends with a whole group when
    more follow, and the key the next page starts after (None: nothing follows)."""
    if limit and len(items) > limit:  # one item past the page: where the next page begins
        following, items = group(items[limit]), items[:limit]
        last = {name: items[-1][name] for name in key}
        if group(items[-1]) != following:
            return items, last
    if not (last and items) or group(items[0]) == group(items[-1]):
        return items, last  # nothing follows (or a filter kept nothing), or one group fills the page: split
    tail = group(items[-1])
    while group(items[-1]) == tail:
        items.pop()
    return items, {name: items[-1][name] for name in key}


def list_scope(partition: str, *, index: str | None = None, prefix: str | None = None,
               newest_first: bool = False, between: tuple[str, str] | None = None) -> bytes:
    """What identifies a list: the token of one never opens another."""
    return json.dumps([index or "table", partition, prefix or "", newest_first, *([list(between)] if between else [])]
                      ).encode()


def encode_token(last_key: Item | None, scope: bytes) -> str | None:
    """The `next_token` for a Query's LastEvaluatedKey (None: the list ends here)."""
    return seal(last_key, scope) if last_key else None


def decode_token(token: str | None, scope: bytes) -> Item | None:
    """The ExclusiveStartKey inside a `next_token` this list issued; a 400 for anything else."""
    if not token:
        return None
    key = unseal(token, scope)  # sealed by encode_token: a dict of key attribute names to strings
    if not (isinstance(key, dict) and PK in key and SK in key):
        raise BadToken(BAD_TOKEN)
    return key


def seal(state: Any, scope: bytes) -> str:
    """Any JSON value as an opaque token that only `unseal` with the same `scope` opens (the
    SIV scheme above): a list's position, or a walk's state (the descendant tree's pages)."""
    plain = _plain(state)
    encryption, signing = _token_keys()
    tag = hmac.new(signing, scope + b"\0" + plain, hashlib.sha256).digest()[:TOKEN_TAG_BYTES]
    sealed = tag + _xor(plain, hashlib.shake_256(encryption + tag).digest(len(plain)))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def sealed_length(state: Any) -> int:
    """The length of the token `seal` makes of `state` (base64 of the tag and the state)."""
    return -(-(TOKEN_TAG_BYTES + len(_plain(state))) * 4 // 3)


def _plain(state: Any) -> bytes:
    return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()


def unseal(token: str, scope: bytes) -> Any:
    """The value `seal` put into `token` for this `scope`; BadToken (a 400) for anything else."""
    try:
        raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode())
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BadToken(BAD_TOKEN) from None
    tag, cipher = raw[:TOKEN_TAG_BYTES], raw[TOKEN_TAG_BYTES:]
    encryption, signing = _token_keys()
    plain = _xor(cipher, hashlib.shake_256(encryption + tag).digest(len(cipher)))
    expected = hmac.new(signing, scope + b"\0" + plain, hashlib.sha256).digest()[:TOKEN_TAG_BYTES]
    if not cipher or not hmac.compare_digest(tag, expected):
        raise BadToken(BAD_TOKEN)
    return json.loads(plain)


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream))


def _token_keys() -> tuple[bytes, bytes]:
    """(encryption key, signing key), derived from the deployment's signing key."""
    from ..services.auth import signing_key  # auth reads tokens through this package

    master = signing_key()
    return (hmac.new(master, b"page-token encryption", hashlib.sha256).digest(),
            hmac.new(master, b"page-token signature", hashlib.sha256).digest())
