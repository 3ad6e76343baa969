"""Authoring refusals beyond the permission matrix (tests/test_permission_matrix/): a block of another
runbook, and how the 404 page reads."""

from django.urls import reverse

from apps.runbooks.services.runbooks import runbook_create


def test_another_runbooks_block_is_not_found(cast, client_for):
    other = runbook_create(
        user=cast.editor, title="Other", blocks=[{"key": "x", "kind": "timer", "config": {"seconds": 1}}]
    )
    foreign = other.blocks.get()
    url = reverse("runbooks:block_edit", args=[cast.runbook.pk, foreign.pk])
    assert client_for(cast.editor).get(url).status_code == 404


def test_the_404_page_reads_well(cast, client_for):
    answer = client_for(cast.outsider).get(reverse("runbooks:detail", args=[cast.runbook.pk]))
    assert answer.status_code == 404
    assert b"Not found" in answer.content
    assert b"Restart the payments API" not in answer.content
