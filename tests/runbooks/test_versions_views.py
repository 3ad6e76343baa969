"""The versions pages: list, publish, read-only version, diff, restore and the draft banner."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.versions import runbook_publish, snapshot_of


def fresh(runbook):
    return Runbook.objects.get(pk=runbook.pk)


@pytest.fixture
def two_versions(cast):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="First cut")
    runbook = fresh(cast.runbook)
    runbook_update(
        runbook=runbook,
        user=cast.editor,
        revision=runbook.revision,
        blocks=[
            {"key": "restart", "kind": "command", "config": {"script": "echo restarting\necho twice"}},
            {"key": "intro", "kind": "instruction", "config": {"markdown": "Check the dashboard first."}},
        ],
    )
    runbook_publish(runbook=fresh(runbook), user=cast.editor, message="Restart before reading")
    return fresh(cast.runbook)


def test_the_list_shows_number_author_message_and_the_current_marker(cast, client_for, two_versions):
    response = client_for(cast.viewer).get(reverse("runbooks:versions", args=[cast.runbook.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "First cut" in html and "Restart before reading" in html
    assert 'id="version-2"' in html and 'id="version-1"' in html
    row_v2 = html.split('id="version-2"')[1].split("</tr>")[0]
    row_v1 = html.split('id="version-1"')[1].split("</tr>")[0]
    assert "current" in row_v2 and "current" not in row_v1
    assert "editor" in row_v2
    # A viewer sees no publish form and no restore link.
    assert 'id="publish-form"' not in html
    assert "Restore v1" not in html


def test_editors_get_the_publish_form_and_restore_links(cast, client_for, two_versions):
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="New title")
    html = client_for(cast.editor).get(reverse("runbooks:versions", args=[cast.runbook.pk])).content.decode()
    assert 'id="publish-form"' in html
    assert 'name="message"' in html and "required" in html
    assert "Restore v1" in html


def test_publishing_from_the_page_creates_the_next_version(cast, client_for):
    client = client_for(cast.editor)
    url = reverse("runbooks:publish", args=[cast.runbook.pk])
    response = client.post(url, {"message": "Reviewed by SRE", "revision": fresh(cast.runbook).revision})
    assert response.status_code == 302
    version = RunbookVersion.objects.get(runbook=cast.runbook)
    assert (version.number, version.message, version.author) == (1, "Reviewed by SRE", cast.editor)
    followed = client.get(response["Location"])
    assert "Published v1." in followed.content.decode()


def test_publishing_with_an_empty_message_is_400_with_the_message_and_nothing_saved(cast, client_for):
    response = client_for(cast.editor).post(
        reverse("runbooks:publish", args=[cast.runbook.pk]), {"message": "  ", "revision": cast.runbook.revision}
    )
    assert response.status_code == 400
    assert "a message is required" in response.content.decode()
    assert not RunbookVersion.objects.exists()


def test_publishing_an_unchanged_draft_says_nothing_changed(cast, client_for, two_versions):
    response = client_for(cast.editor).post(
        reverse("runbooks:publish", args=[cast.runbook.pk]), {"message": "again", "revision": two_versions.revision}
    )
    assert response.status_code == 400
    assert "Nothing changed since v2" in response.content.decode()
    assert RunbookVersion.objects.count() == 2


def test_publishing_a_stale_draft_is_409_naming_who_changed_it(cast, client_for):
    stale_revision = cast.runbook.revision
    runbook_update(runbook=cast.runbook, user=cast.owner, revision=stale_revision, title="Owner's title")
    response = client_for(cast.editor).post(
        reverse("runbooks:publish", args=[cast.runbook.pk]), {"message": "mine", "revision": stale_revision}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed by owner" in html
    assert reverse("runbooks:diff", args=[cast.runbook.pk]) in html
    assert not RunbookVersion.objects.exists()


def test_a_version_renders_read_only_with_its_own_content(cast, client_for, two_versions):
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="Draft title now")
    response = client_for(cast.viewer).get(reverse("runbooks:version_detail", args=[cast.runbook.pk, 1]))
    assert response.status_code == 200
    html = response.content.decode()
    heading = html.split("<h1>")[1].split("</h1>")[0]
    assert "Restart the payments API" in heading and "Draft title now" not in heading
    assert "First cut" in html
    content = html.split('id="version-1"')[1]
    assert "<form" not in content and "<input" not in content  # read-only: nothing to submit
    assert "<strong>p95 latency</strong>" in content  # the description's Markdown, rendered
    assert "echo restarting" in content


def test_an_unknown_version_is_404(cast, client_for, two_versions):
    client = client_for(cast.viewer)
    assert client.get(reverse("runbooks:version_detail", args=[cast.runbook.pk, 9])).status_code == 404
    assert client.get(reverse("runbooks:diff", args=[cast.runbook.pk]) + "?from=1&to=9").status_code == 404
    assert client.get(reverse("runbooks:diff", args=[cast.runbook.pk]) + "?from=abc&to=1").status_code == 404


def test_the_diff_of_two_versions_shows_the_moved_and_changed_blocks_side_by_side(cast, client_for, two_versions):
    response = client_for(cast.viewer).get(reverse("runbooks:diff", args=[cast.runbook.pk]) + "?from=1&to=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="diff-block-restart"' in html
    restart = html.split('id="diff-block-restart"')[1].split('class="diff-block')[0]
    assert "changed" in restart and "config.script" in restart
    assert "<ins>echo twice</ins>" in restart
    assert "moved" in html
    assert 'id="diff-field-title"' not in html


def test_the_diff_defaults_to_latest_against_draft_and_answers_a_partial_to_htmx(cast, client_for, two_versions):
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="Restart payments")
    client = client_for(cast.viewer)
    html = client.get(reverse("runbooks:diff", args=[cast.runbook.pk])).content.decode()
    assert "v2 → Draft" in html
    assert "<del>Restart the payments API</del>" in html and "<ins>Restart payments</ins>" in html
    partial = client.get(reverse("runbooks:diff", args=[cast.runbook.pk]), headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<section id="diff"')


def test_the_draft_banner_links_to_the_diff_only_when_the_draft_changed(cast, two_versions):
    assert "unpublished changes" not in render_to_string("runbooks/_draft_status.html", {"runbook": two_versions})
    runbook_update(runbook=two_versions, user=cast.editor, revision=two_versions.revision, title="Edited")
    html = render_to_string("runbooks/_draft_status.html", {"runbook": fresh(cast.runbook)})
    assert "unpublished changes since v2" in html
    assert reverse("runbooks:diff", args=[cast.runbook.pk]) + "?from=2&amp;to=draft" in html


def test_the_draft_banner_says_when_nothing_is_published(cast):
    html = render_to_string("runbooks/_draft_status.html", {"runbook": cast.runbook})
    assert "Not published yet" in html


def test_restore_asks_for_confirmation_then_restores(cast, client_for, two_versions):
    client = client_for(cast.editor)
    url = reverse("runbooks:rollback", args=[cast.runbook.pk, 1])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Restore v1?" in confirm.content.decode()
    assert RunbookVersion.objects.count() == 2  # a GET changes nothing

    response = client.post(url, {"message": "v2 order was wrong"})
    assert response.status_code == 302
    v3 = RunbookVersion.objects.get(runbook=cast.runbook, number=3)
    assert v3.message == "Rollback to v1: v2 order was wrong"
    assert v3.snapshot == RunbookVersion.objects.get(runbook=cast.runbook, number=1).snapshot
    assert snapshot_of(fresh(cast.runbook)) == v3.snapshot


def test_restore_without_a_reason_is_400_and_restores_nothing(cast, client_for, two_versions):
    response = client_for(cast.editor).post(reverse("runbooks:rollback", args=[cast.runbook.pk, 1]), {"message": ""})
    assert response.status_code == 400
    assert "a message is required" in response.content.decode()
    assert RunbookVersion.objects.count() == 2


def test_restore_of_a_missing_version_is_404(cast, client_for, two_versions):
    client = client_for(cast.editor)
    assert client.post(reverse("runbooks:rollback", args=[cast.runbook.pk, 5]), {"message": "x"}).status_code == 404
    assert RunbookVersion.objects.count() == 2


def test_no_page_can_change_a_published_version(cast, client_for, two_versions):
    client = client_for(cast.admin)
    before = list(RunbookVersion.objects.order_by("number").values_list("number", "message", "snapshot"))
    detail = reverse("runbooks:version_detail", args=[cast.runbook.pk, 1])
    assert client.post(detail, {"message": "rewritten"}).status_code == 405
    assert client.put(detail, {"message": "rewritten"}).status_code == 405
    assert client.delete(detail).status_code == 405
    assert client.post(reverse("runbooks:versions", args=[cast.runbook.pk]), {"message": "x"}).status_code == 405
    assert list(RunbookVersion.objects.order_by("number").values_list("number", "message", "snapshot")) == before


def test_the_admin_cannot_change_or_delete_a_published_version(cast, client_for, two_versions):
    client = client_for(cast.admin)
    version = RunbookVersion.objects.get(runbook=cast.runbook, number=1)
    change_url = f"/admin/runbooks/runbookversion/{version.pk}/change/"
    delete_url = f"/admin/runbooks/runbookversion/{version.pk}/delete/"
    assert client.get(change_url).status_code == 200  # readable, as a read-only page
    changed = client.post(change_url, {"message": "rewritten", "number": 7, "snapshot": "{}", "content_hash": "x"})
    assert changed.status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    client.post(
        "/admin/runbooks/runbookversion/",
        {"action": "delete_selected", "_selected_action": [version.pk], "post": "yes"},
    )
    assert client.post("/admin/runbooks/runbookversion/add/", {"message": "forged"}).status_code == 403
    version.refresh_from_db()
    assert (version.number, version.message) == (1, "First cut")
    assert version.snapshot["title"] == "Restart the payments API"
    assert RunbookVersion.objects.count() == 2


def test_the_compare_form_defaults_to_latest_against_draft_when_the_draft_changed(cast, client_for, two_versions):
    client = client_for(cast.viewer)
    url = reverse("runbooks:versions", args=[cast.runbook.pk])
    html = client.get(url).content.decode()
    assert '<option value="1" selected>v1</option>' in html.split('id="diff-from"')[1].split("</select>")[0]
    assert '<option value="2" selected>v2</option>' in html.split('id="diff-to"')[1].split("</select>")[0]
    runbook_update(runbook=two_versions, user=cast.editor, revision=two_versions.revision, title="Edited")
    html = client.get(url).content.decode()
    assert '<option value="2" selected>v2</option>' in html.split('id="diff-from"')[1].split("</select>")[0]
    assert '<option value="draft" selected>draft</option>' in html.split('id="diff-to"')[1].split("</select>")[0]
