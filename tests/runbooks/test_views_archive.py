from django.urls import reverse

from apps.runbooks.models import Runbook


def test_owners_confirm_then_archive_and_land_on_the_list(cast, client_for):
    url = reverse("runbooks:archive", args=[cast.runbook.pk])
    client = client_for(cast.owner)
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert b"Archive runbook" in confirm.content
    assert Runbook.objects.get(pk=cast.runbook.pk).archived_at is None  # a GET changes nothing
    answer = client.post(url)
    assert answer.status_code == 302 and answer["Location"] == reverse("runbooks:list")
    assert Runbook.objects.get(pk=cast.runbook.pk).archived_at is not None
    assert f'id="runbook-{cast.runbook.pk}"'.encode() not in client.get(reverse("runbooks:list")).content
    assert client.get(reverse("runbooks:detail", args=[cast.runbook.pk])).status_code == 404


def test_editors_may_not_archive(cast, client_for):
    url = reverse("runbooks:archive", args=[cast.runbook.pk])
    assert client_for(cast.editor).post(url).status_code == 403
    assert client_for(cast.outsider).post(url).status_code == 404
    assert Runbook.objects.get(pk=cast.runbook.pk).archived_at is None
