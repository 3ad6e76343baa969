"""Issue 12.3: a secret printed with control characters, ANSI sequences or line breaks between its
characters must not come back joined where people see output: the execution page, the full-output
page, the socket, the download, the API and the admin.

Each case runs a real command step in Docker that prints the secret of an attached credential with
something inserted, exactly as an editor's script would, and reads every public view of that run.
"""

import base64
import html
import json
import random
import re
import threading
import time
import uuid
from urllib.parse import quote, quote_plus

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from apps.core.masking.masker import MASK, Masker
from apps.credentials.services import credential_create
from apps.executions.services.start import execution_start
from tests.support.executions import command, run_now
from tests.support.sockets import communicator, run

# Characters that URL-encoding and JSON escape, so those spellings differ from the raw one.
SECRET = 'ZQX9rT4w/Lm8v+Kp2s"Hn6y&Bd3f'

# A script that splits the credential's secret and prints it with `middle` between the parts.
# `first`/`rest` are its first character and the rest; `head`/`tail` its first four and the rest.
PREAMBLE = (
    's=$(cat "$RB_SECRET_TOK_FILE")\n'
    "first=$(printf '%s' \"$s\" | cut -c1)\n"
    "rest=$(printf '%s' \"$s\" | cut -c2-)\n"
    "head=$(printf '%s' \"$s\" | cut -c1-4)\n"
    "tail=$(printf '%s' \"$s\" | cut -c5-)\n"
)
ATTACKS = {
    "soh": 'printf \'before %s\\001%s after\\n\' "$head" "$tail"',
    "carriage-return": 'printf \'before %s\\r%s after\\n\' "$head" "$tail"',
    "backspace": 'printf \'before %s\\b%s after\\n\' "$head" "$tail"',
    "sgr-reset": 'printf \'before %s\\033[0m%s after\\n\' "$head" "$tail"',
    "colour-change": 'printf \'before \\033[31m%s\\033[32m%s\\033[0m after\\n\' "$head" "$tail"',
    "line-break": 'printf \'before %s\\n%s after\\n\' "$head" "$tail"',
    # What a terminal shows once the overwrite is done: the secret, though no byte run spells it.
    "carriage-return-overwrite": 'printf \'?%s\\r%s\\n\' "$rest" "$first"',
    "backspace-overwrite": 'printf \'%s?\\b%s\\n\' "$head" "$tail"',
    # Split across two writes (two chunks), the control character in the second one.
    "split-across-chunks": "printf 'before %s' \"$head\"; sleep 0.3; printf '\\001%s after\\n' \"$tail\"",
    "base64-with-soh": 'b=$(printf \'%s\' "$s" | base64); printf \'%s\\001%s\\n\' "${b%????????}" "${b#${b%????????}}"',
}


def hidden_spellings(secret: str) -> dict[str, str]:
    """Every spelling the masker claims: raw, base64 at the three offsets, URL-encoded, JSON-escaped."""
    data = secret.encode()
    found = {"raw": secret, "url": quote(secret, safe=""), "url-plus": quote_plus(secret)}
    found["json"] = json.dumps(secret)[1:-1]
    for offset in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        found[f"base64+{offset}"] = encoded[-(-offset * 8 // 6) : (offset + len(data)) * 8 // 6]
    return found


def visible_text(markup: str) -> str:
    """What a person reads of a page: tags dropped, entities decoded, control characters unseen."""
    text = html.unescape(re.sub(r"<[^>]*>", "", markup))
    return "".join(char for char in text if char.isprintable() or char == " ")


def assert_hidden(where: str, text: str, secret: str = SECRET) -> None:
    for surface, shown in ((where, text), (f"{where} (as seen)", visible_text(text))):
        for name, spelling in hidden_spellings(secret).items():
            assert spelling not in shown, f"{name} spelling of the secret in {surface}"


@pytest.fixture(autouse=True)
def channel_layer(settings):
    """Real Redis under a prefix of its own, as tests/executions/consumer/conftest.py does."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"test-{uuid.uuid4().hex[:12]}"},
        }
    }


def leaking_run(cast, make_runbook, script: str):
    credential = credential_create(user=cast.owner, name="tok", kind="token", secret=SECRET)
    runbook = make_runbook(cast.owner, [command("leak", PREAMBLE + script, credentials=[credential.pk])])
    return execution_start(runbook=runbook, user=cast.owner)


def run_in_worker_thread(execution) -> None:
    try:
        run_now(execution)
    finally:
        connection.close()  # the thread's own connection, or the test database cannot be dropped


def socket_frames(execution, client_for, user) -> str:
    """Every frame the socket sends while the run goes on, live, until it shows the run finished."""
    session = client_for(user).cookies[settings.SESSION_COOKIE_NAME].value
    headers = [
        (b"host", b"testserver"),
        (b"origin", b"http://testserver"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()),
    ]

    async def scenario():
        socket = communicator(execution, headers)
        connected, _ = await socket.connect()
        assert connected
        worker = threading.Thread(target=run_in_worker_thread, args=(execution,))
        await sync_to_async(worker.start)()
        texts: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                message = await socket.receive_output(timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                break
            if message["type"] == "websocket.close":
                break
            texts.append(message["text"])
            if not worker.is_alive() and 'data-final="1"' in message["text"]:
                break
        await sync_to_async(worker.join)()
        await socket.disconnect()
        return "".join(texts)

    return run(scenario)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_it_never_shows_a_secret_joined_back_from_what_was_printed_between_its_characters(
    attack, cast, make_runbook, docker_engine, client_for, api_for, transactional_db
):
    execution = leaking_run(cast, make_runbook, ATTACKS[attack])
    frames = socket_frames(execution, client_for, cast.viewer)
    execution.refresh_from_db()
    step = execution.steps.get()
    assert execution.status == "succeeded", execution.error
    assert step.output_bytes > 0

    assert_hidden("socket frames", frames)
    assert MASK in visible_text(frames)

    viewer = client_for(cast.viewer)
    page = viewer.get(f"/executions/{execution.pk}/")
    assert page.status_code == 200
    assert_hidden("execution page", page.content.decode())
    assert MASK in visible_text(page.content.decode())

    full = viewer.get(f"/executions/{execution.pk}/steps/{step.pk}/output")
    assert full.status_code == 200
    assert_hidden("full-output page", full.content.decode())

    download = viewer.get(f"/executions/{execution.pk}/steps/{step.pk}/output.txt")
    assert download.status_code == 200
    downloaded = b"".join(download.streaming_content).decode()
    assert_hidden("download", downloaded)
    assert MASK in downloaded

    answer = api_for(cast.viewer).get(f"/api/v1/executions/{execution.pk}/")
    assert answer.status_code == 200
    assert_hidden("API answer", answer.content.decode())
    assert_hidden("API step output", answer.json()["steps"][0]["output"])
    assert MASK in answer.json()["steps"][0]["output"]

    admin = client_for(cast.admin)
    for url in (
        f"/admin/executions/execution/{execution.pk}/change/",
        f"/admin/executions/steprun/{step.pk}/change/",
        *(f"/admin/executions/outputchunk/{pk}/change/" for pk in step.chunks.values_list("pk", flat=True)),
    ):
        shown = admin.get(url)
        assert shown.status_code == 200, url
        assert_hidden(f"admin {url}", shown.content.decode())


def terminal_screen(text: str) -> str:
    """What a terminal shows at the end: lines after carriage returns, backspaces, cursor-left and
    column moves, with escape sequences and other controls not shown (a test-side model)."""
    lines, cells, cursor = [], [], 0
    for token in re.findall(r"\x1b\[[0-9;]*[A-Za-z]|\x1b.?|.", text, flags=re.S):
        if token == "\n":
            lines.append("".join(cells))
            cells, cursor = [], 0
        elif token == "\r":
            cursor = 0
        elif token == "\b":
            cursor = max(cursor - 1, 0)
        elif token.startswith("\x1b["):
            count = int(token[2:-1] or 1) if token[2:-1].isdigit() else 1
            if token[-1] == "D":
                cursor = max(cursor - count, 0)
            elif token[-1] == "G":
                cursor = count - 1
        elif token.isprintable():
            cells.extend(" " * (cursor + 1 - len(cells)))
            cells[cursor] = token
            cursor += 1
    return "\n".join([*lines, "".join(cells)])


def read_as_text(text: str) -> str:
    """The output with escape sequences and characters nobody sees removed, newlines included."""
    return "".join(
        char for char in re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b.?", "", text) if char.isprintable() or char == " "
    )


INSERTS = ["\x01", "\r", "\b", "\x1b[0m", "\x1b[31m", "\n", "\r\n", "\u200b", "\x1b]0;t\x07", "\t", "\x7f"]


@pytest.mark.parametrize("seed", range(60))
def test_streamed_output_never_reads_as_a_secret_whatever_is_printed_between_its_characters(seed):
    """The masker alone (no Docker): random inserts between a secret's characters (or a base64 of it),
    random chunk splits, and carriage-return overwrites; neither the text read without controls nor
    a terminal's final screen may show a spelling of the secret."""

    rng = random.Random(seed)
    spelling = rng.choice([SECRET, base64.b64encode(b"u:" + SECRET.encode()).decode()])
    pieces = []
    for char in spelling:
        pieces.append(char)
        if rng.random() < 0.3:
            pieces.append(rng.choice(INSERTS))
    printed = "".join(pieces)
    if rng.random() < 0.5:
        # Printed with its first character wrong, then fixed by a carriage return or backspaces.
        printed = "?" + printed[1:] + "\r" + printed[0] if rng.random() < 0.5 else printed + "?\b" * 3
    text = "noise " * rng.randint(0, 5) + printed + " after\n"
    cuts = sorted(rng.sample(range(1, len(text)), k=rng.randint(1, min(12, len(text) - 1))))
    masker = Masker([SECRET])
    streamed = "".join(masker.feed(text[start:end]) for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True))
    streamed += masker.flush()

    def views(output: str) -> list[str]:
        return [read_as_text(output), terminal_screen(output).replace("\n", "")]

    for view in views(streamed):
        for name, hidden in hidden_spellings(SECRET).items():
            assert hidden not in view, (name, streamed)
    # An overwrite on a later line than the first character fixes nothing: then nothing reads as the
    # secret and there may be nothing to mask.
    if any(hidden in view for view in views(text) for hidden in hidden_spellings(SECRET).values()):
        assert MASK in streamed
