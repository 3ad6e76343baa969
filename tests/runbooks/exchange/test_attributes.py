"""A block's free attributes (from a file's fence): validated, kept by page edits."""

import pytest

from apps.blocks.kinds import ConfigError, validate_config
from apps.runbooks.services.runbooks import runbook_update

pytestmark = pytest.mark.django_db


def test_attributes_are_kept_only_when_given_and_the_format_s_own_names_are_refused():
    assert "attributes" not in validate_config("timer", {"seconds": 5})
    assert validate_config("timer", {"seconds": 5, "attributes": {"interactive": "false"}})["attributes"] == {
        "interactive": "false"
    }
    for bad in ({"name": "x"}, {"runbooks.timeout": "3"}, {"x": 1}, ["x"]):
        with pytest.raises(ConfigError):
            validate_config("timer", {"seconds": 5, "attributes": bad})


def test_editing_a_block_on_its_page_keeps_its_attributes(cast, client_for):
    runbook = runbook_update(
        runbook=cast.runbook, user=cast.owner, revision=cast.runbook.revision,
        blocks=[{"key": "wait", "kind": "timer", "config": {"seconds": 5, "attributes": {"interactive": "true"}}}],
    )  # fmt: skip
    block = runbook.blocks.get(key="wait")
    prefix = f"block-{block.pk}"
    response = client_for(cast.editor).post(
        f"/runbooks/{runbook.pk}/blocks/{block.pk}/edit",
        {"revision": runbook.revision, f"{prefix}-key": "wait", f"{prefix}-title": "", f"{prefix}-seconds": "9"},
    )
    assert response.status_code in (200, 302), response.content[:300]
    block.refresh_from_db()
    assert block.config == {"seconds": 9, "attributes": {"interactive": "true"}}
