"""Masker: every spelling of a secret, whole or split across stream chunks."""

import base64
import json
import random
from urllib.parse import quote, quote_plus

import pytest

from apps.core.masking.masker import MASK, Masker
from apps.core.masking.spellings import secret_variants

SECRETS = ["hunter2-is-not-enough", 'p@ss/w+rd "x" &é', "AKIAIOSFODNN7EXAMPLE", "line\nbreak\tsecret"]


def spellings(secret: str) -> list[str]:
    """How a secret can show up in output, embedded in other bytes at every base64 alignment."""
    data = secret.encode()
    found = [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]]
    for prefix in (b"", b"u", b"us"):
        found.append(base64.b64encode(prefix + data + b"!").decode())
        found.append(base64.b64encode(prefix + data).decode())
        found.append(base64.urlsafe_b64encode(prefix + data + b"?>").decode())
    found.append(base64.b64encode(b"svc-user:" + data).decode())  # an Authorization: Basic value
    return found


def assert_hidden(text: str, secret: str) -> None:
    assert secret not in text
    data = secret.encode()
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        inner = encoded[-(-offset * 8 // 6) : (offset + len(data)) * 8 // 6]
        assert inner not in text
    assert quote(secret, safe="") not in text
    assert quote_plus(secret) not in text
    assert json.dumps(secret)[1:-1] not in text


@pytest.mark.parametrize("secret", SECRETS)
def test_mask_hides_every_spelling(secret):
    masker = Masker([secret])
    for spelling in spellings(secret):
        masked = masker.mask(f"before {spelling} after")
        assert MASK in masked, spelling
        assert_hidden(masked, secret)
        assert masked.startswith("before ")


def test_mask_leaves_other_text_alone():
    masker = Masker(["hunter2-is-not-enough"])
    text = "deploy ok: 3 pods restarted, hunter2 alone is fine"
    assert masker.mask(text) == text


def test_an_empty_masker_passes_text_through():
    masker = Masker([])
    assert masker.mask("anything") == "anything"
    assert masker.feed("any") + masker.flush() == "any"


def test_overlapping_secrets_leave_no_fragment():
    masker = Masker(["abcdefgh-1", "gh-1-ijklmn"])
    assert masker.mask("xx abcdefgh-1-ijklmn yy") == f"xx {MASK} yy"


def test_variants_include_the_three_base64_alignments():
    variants = secret_variants("hunter2-is-not-enough")
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + b"hunter2-is-not-enough").decode()
        assert any(variant in encoded for variant in variants if variant != "hunter2-is-not-enough")


def test_a_secret_split_across_two_chunks_is_masked():
    masker = Masker(["hunter2-is-not-enough"])
    out = masker.feed("token=hunter2-is-") + masker.feed("not-enough; done\n") + masker.flush()
    assert out == f"token={MASK}; done\n"


def test_feed_emits_what_cannot_start_a_secret_straight_away():
    masker = Masker(["hunter2-is-not-enough"])
    first = masker.feed("x" * 100)
    assert masker.hold == max(len(variant) for variant in masker.variants) - 1
    assert first == "x" * (100 - masker.hold)
    assert first + masker.flush() == "x" * 100


@pytest.mark.parametrize("seed", range(40))
def test_random_chunk_splits_never_leak(seed):
    rng = random.Random(seed)
    secrets = rng.sample(SECRETS, 2)
    masker = Masker(secrets)
    pieces = []
    for _ in range(6):
        pieces.append("".join(rng.choice("abc xyz=\n:") for _ in range(rng.randint(0, 30))))
        pieces.append(rng.choice(spellings(rng.choice(secrets))))
    text = "".join(pieces)
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 25))))
    chunks = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    streamed = "".join(masker.feed(chunk) for chunk in chunks) + masker.flush()
    assert streamed == Masker(secrets).mask(text)
    for secret in secrets:
        assert_hidden(streamed, secret)


def test_one_character_chunks_are_masked():
    secret = 'p@ss/w+rd "x" &é'
    text = f"a={secret}&b={quote_plus(secret)}&c={base64.b64encode(b'u:' + secret.encode()).decode()}"
    masker = Masker([secret])
    streamed = "".join(masker.feed(char) for char in text) + masker.flush()
    assert_hidden(streamed, secret)
    assert streamed.startswith("a=***&b=***&c=")
