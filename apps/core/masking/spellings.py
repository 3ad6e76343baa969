"""Every spelling of a secret that is masked: as is, URL-encoded, JSON-escaped and base64 in each
of its three alignments (only the characters that depend on the secret alone)."""

import base64
import json
from urllib.parse import quote, quote_plus


def _base64_inner(data: bytes, offset: int, *, urlsafe: bool) -> str:
    """The part of base64(`offset` unknown bytes + data + unknown bytes) that depends on data only."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(b"\0" * offset + data).decode("ascii")
    # Character i carries bits [6i, 6i + 6); keep those lying wholly inside the secret's bits.
    start = -(-offset * 8 // 6)
    end = (offset + len(data)) * 8 // 6
    return encoded[start:end]


def secret_variants(secret: str) -> set[str]:
    """Every spelling of `secret` that is masked."""
    data = secret.encode("utf-8")
    variants = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    variants.add(json.dumps(secret)[1:-1])
    variants.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    for offset in (0, 1, 2):
        for urlsafe in (False, True):
            variants.add(_base64_inner(data, offset, urlsafe=urlsafe))
    # A short inner base64 part (from a short secret) would mask innocent text; the raw form still counts.
    return {variant for variant in variants if variant and (variant == secret or len(variant) >= 4)}
