"""The History tab: versions, draft edits and role changes merged, paginated, in fixed queries."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.runbooks.models import Block, Runbook, RunbookVersion
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.blocks import block_update
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.versions import HISTORY_PAGE_SIZE, runbook_history_count, runbook_publish


def fresh(runbook):
    return Runbook.objects.get(pk=runbook.pk)


def test_it_merges_versions_draft_edits_and_role_changes_newest_first(cast, client_for):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="Ship it")
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="Restart payments")
    block = Block.objects.get(runbook=cast.runbook, key="restart")
    block_update(
        block=block,
        user=cast.owner,
        revision=fresh(cast.runbook).revision,
        key="restart",
        title="",
        config={"script": "systemctl restart payments"},
    )
    runbook_grant(runbook=cast.runbook, actor=cast.owner, principal=cast.viewer, role=None)
    runbook_archive_like_change = fresh(cast.runbook)
    runbook_update(
        runbook=runbook_archive_like_change,
        user=cast.editor,
        revision=runbook_archive_like_change.revision,
        parameters=[{"name": "region", "label": "Region", "default": "eu", "required": True, "choices": None}],
    )

    response = client_for(cast.runner).get(reverse("runbooks:history", args=[cast.runbook.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    rows = html.split('<tr class="history-')[1:]
    kinds = [row.split('"')[0] for row in rows]
    # Newest first: parameters edit, revoke, the block edit (with the revision it saved), title
    # edit, version, then the cast's setup.
    assert kinds[:6] == ["runbook", "role", "runbook", "block", "runbook", "version"]
    assert "<strong>parameters</strong>" in rows[0] and "region" in rows[0]
    assert "Revoked viewer from user:viewer" in rows[1]
    assert "Saved revision" in rows[2]
    assert "Changed block “restart” (command)" in rows[3] and "config.script" in rows[3]
    assert "Edited the runbook" in rows[4]
    assert "Published v1" in rows[5] and "Ship it" in rows[5]
    assert "Created the runbook" in rows[-1] or "Added block" in rows[-1]
    assert "Restart the payments API</code> → <code>Restart payments" in html
    assert "systemctl restart payments" in html
    assert "Granted runner to user:runner" in html
    assert "<strong>title</strong>" in rows[4] and "<strong>revision" not in rows[4]


def test_the_history_of_1000_versions_and_10000_rows_pages_in_fixed_queries(
    cast, client_for, django_assert_max_num_queries
):
    runbook = cast.runbook
    # Later than every real row, as edits that follow the cast's setup would be.
    start = timezone.now() + timedelta(seconds=5)
    RunbookVersion.objects.bulk_create(
        RunbookVersion(
            runbook=runbook,
            number=number,
            message=f"release {number}",
            author=cast.editor,
            snapshot={"title": "t", "blocks": []},
            content_hash="0" * 64,
        )
        for number in range(1, 1001)
    )
    HistoricalRunbook = Runbook.history.model
    base = HistoricalRunbook.objects.filter(id=runbook.pk).earliest("history_date")
    rows = []
    for index in range(5000):
        rows.append(
            HistoricalRunbook(
                id=runbook.pk,
                title=f"title {index}",
                description=base.description,
                parameters=[],
                revision=100 + index,
                owner_id=base.owner_id,
                created_at=base.created_at,
                history_date=start + timedelta(minutes=index),
                history_type="~",
                history_user=cast.editor,
            )
        )
    HistoricalRunbook.objects.bulk_create(rows)
    HistoricalBlock = Block.history.model
    block = Block.objects.get(runbook=runbook, key="restart")
    HistoricalBlock.objects.bulk_create(
        HistoricalBlock(
            id=block.pk,
            runbook_id=runbook.pk,
            key="restart",
            title="",
            kind="command",
            config={"script": f"echo {index}"},
            position=1,
            history_date=start + timedelta(minutes=index, seconds=30),
            history_type="~",
            history_user=cast.owner,
        )
        for index in range(5000)
    )
    assert RunbookVersion.objects.filter(runbook=runbook).count() == 1000
    assert (
        HistoricalRunbook.objects.filter(id=runbook.pk).count()
        + HistoricalBlock.objects.filter(runbook_id=runbook.pk).count()
        > 10000
    )
    total = runbook_history_count(runbook)
    last_page = -(-total // HISTORY_PAGE_SIZE)
    client = client_for(cast.viewer)
    url = reverse("runbooks:history", args=[runbook.pk])
    client.get(url)  # the first request of a session loads content types and permissions once

    pages = {}
    for page in (1, 120, last_page):
        with django_assert_max_num_queries(14):
            response = client.get(url, {"page": page})
        assert response.status_code == 200
        pages[page] = response.content.decode()
    assert f"Page 1 of {last_page}" in pages[1]
    assert pages[1].count('<tr class="history-') == HISTORY_PAGE_SIZE
    # Draft edits show old → new, found through the previous row of the same object.
    assert "echo 4998</code> → <code>echo 4999" in pages[1]
    assert "title 4998</code> → <code>title 4999" in pages[1]
    assert "Created the runbook" in pages[last_page]
    assert pages[last_page].count('<tr class="history-') == total - (last_page - 1) * HISTORY_PAGE_SIZE
    # The versions (published before the bulk edits) come after the 10,000 edits.
    versions_page = client.get(url, {"page": 10000 // HISTORY_PAGE_SIZE + 1}).content.decode()
    assert "Published v1000" in versions_page
    # HTMX pagination gets the partial only.
    partial = client.get(url, {"page": 2}, headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<section id="history">')
