"""The pages: download, upload as a new runbook, upload over the draft with a diff before saving."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.runbooks.exchange.services import runbook_export
from apps.runbooks.models import Runbook
from tests.runbooks.exchange.conftest import counts

pytestmark = pytest.mark.django_db


def test_the_runbook_page_offers_the_download(world, client_for):
    cast = world.cast
    client = client_for(cast.viewer)
    assert f"/runbooks/{cast.runbook.pk}/export" in client.get(f"/runbooks/{cast.runbook.pk}/").content.decode()
    response = client.get(f"/runbooks/{cast.runbook.pk}/export")
    assert response.status_code == 200 and response.content.decode() == runbook_export(runbook=cast.runbook)
    assert response["Content-Disposition"].startswith('attachment; filename="restart-the-payments-api-')


def test_uploading_on_the_list_page_creates_a_runbook_or_lists_the_problems(world, client_for):
    client = client_for(world.cast.editor)
    assert 'action="/runbooks/import"' in client.get("/runbooks/").content.decode()
    upload = SimpleUploadedFile("r.md", b"# From a file\n\n```sh\necho hi\n```\n", content_type="text/markdown")
    response = client.post("/runbooks/import", {"file": upload})
    created = Runbook.objects.get(title="From a file")
    assert response.status_code == 302 and response["Location"] == f"/runbooks/{created.pk}/"
    before = counts()
    bad = SimpleUploadedFile("r.md", b'```sh {"name": "a"}\n1\n```\n```sh {"name": "a"}\n2\n```\n')
    response = client.post("/runbooks/import", {"file": bad})
    assert response.status_code == 400 and "Line 4: The key “a” is already used" in response.content.decode()
    assert counts() == before


def test_uploading_over_the_draft_shows_the_diff_and_saves_only_on_confirm(world, client_for):
    cast = world.cast
    client = client_for(cast.editor)
    text = runbook_export(runbook=cast.runbook).replace("echo restarting", "echo changed")
    before = counts()
    preview = client.post(f"/runbooks/{cast.runbook.pk}/import", {"file": SimpleUploadedFile("r.md", text.encode())})
    page = preview.content.decode()
    assert preview.status_code == 200 and 'id="diff-block-restart"' in page and "Replace the draft" in page
    assert counts() == before
    confirm = client.post(
        f"/runbooks/{cast.runbook.pk}/import", {"confirm": "1", "revision": cast.runbook.revision, "text": text}
    )
    assert confirm.status_code == 302
    assert Runbook.objects.get(pk=cast.runbook.pk).blocks.get(key="restart").config["script"] == "echo changed"
    again = client.post(
        f"/runbooks/{cast.runbook.pk}/import", {"confirm": "1", "revision": cast.runbook.revision, "text": text}
    )
    assert again.status_code == 409
