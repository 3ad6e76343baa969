"""Masking of secrets in run output, before anything is stored or streamed.

A secret can leave a step in several spellings: as is, base64-encoded (in an Authorization: Basic
header, a Kubernetes secret, a JSON body …), URL-encoded or JSON-escaped. Base64 depends on where
the secret starts within a 3-byte group, so each of the three alignments has its own spelling;
only the characters that depend on the secret alone are stable, and those are what is matched.
"""

import base64
import json
from urllib.parse import quote, quote_plus

MASK = "***"
# Past this much held-back output, overlapping matches are flushed anyway: output cannot stall.
MAX_HELD = 64 * 1024


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


class Masker:
    """mask(text) for whole strings; feed(chunk)/flush() for a stream whose chunks may split a secret."""

    def __init__(self, secrets: list[str]):
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants |= secret_variants(secret)
        self.variants = sorted(variants, key=len, reverse=True)
        # Enough to hold all but the last character of the longest spelling until the next chunk.
        self.hold = max((len(variant) for variant in self.variants), default=1) - 1
        self._pending = ""

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Merged [start, end) ranges covered by any spelling; overlaps merge so no fragment leaks."""
        found = []
        for variant in self.variants:
            start = text.find(variant)
            while start != -1:
                found.append((start, start + len(variant)))
                start = text.find(variant, start + 1)
        found.sort()
        merged: list[list[int]] = []
        for start, end in found:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(start, end) for start, end in merged]

    @staticmethod
    def _replace(text: str, spans: list[tuple[int, int]]) -> str:
        parts, position = [], 0
        for start, end in spans:
            parts.append(text[position:start])
            parts.append(MASK)
            position = end
        parts.append(text[position:])
        return "".join(parts)

    def mask(self, text: str) -> str:
        if not self.variants or not text:
            return text
        return self._replace(text, self._spans(text))

    def feed(self, chunk: str) -> str:
        """Masked output that is safe to emit now; the tail that could start a secret is held back."""
        if not self.variants:
            return chunk
        buffer = self._pending + chunk
        spans = self._spans(buffer)
        cut = max(0, len(buffer) - self.hold)
        # Any occurrence starting before `cut` is wholly inside the buffer, so it has been found.
        # A match reaching past `cut` might still grow with the next chunk: hold it back whole.
        for start, end in spans:
            if start < cut < end:
                cut = start
        if len(buffer) - cut > MAX_HELD:
            cut = len(buffer)
        self._pending = buffer[cut:]
        return self._replace(buffer[:cut], [(start, end) for start, end in spans if end <= cut])

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self.mask(rest)
