"""An environment whose Dockerfile build failed cannot be chosen for a runbook, by page or API;
a runbook already on one keeps it, shown with the reason."""

import re

import pytest
from django.urls import reverse

from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Runbook

FAILED = "Dockerfile build failed"


@pytest.fixture
def environments(db):
    ready = ExecutionEnvironment.objects.create(name="busybox", image="runbooks-test-busybox:latest")
    failed = ExecutionEnvironment.objects.create(
        name="broken-tools", dockerfile="FROM nowhere\n", build_status="failed"
    )
    return ready, failed


def _options(page: str) -> dict[str, str]:
    select = re.search(r'<select name="environment".*?</select>', page, re.S).group(0)
    return {value: label.strip() for value, label in re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select)}


def test_the_new_runbook_form_does_not_offer_a_failed_build(cast, client_for, environments):
    ready, failed = environments
    options = _options(client_for(cast.editor).get(reverse("runbooks:create")).content.decode())
    assert str(ready.pk) in options
    assert str(failed.pk) not in options


def test_the_edit_form_does_not_offer_a_failed_build_to_a_runbook_on_another(cast, client_for, environments):
    ready, failed = environments
    Runbook.objects.filter(pk=cast.runbook.pk).update(environment=ready)
    page = client_for(cast.editor).get(reverse("runbooks:edit", args=[cast.runbook.pk])).content.decode()
    assert str(failed.pk) not in _options(page)


def test_a_runbook_already_on_a_failed_build_keeps_it_with_the_reason(cast, client_for, environments):
    _ready, failed = environments
    Runbook.objects.filter(pk=cast.runbook.pk).update(environment=failed)
    page = client_for(cast.editor).get(reverse("runbooks:edit", args=[cast.runbook.pk])).content.decode()
    options = _options(page)
    assert FAILED in options[str(failed.pk)]
    assert re.search(rf'<option value="{failed.pk}" selected>', page)
    detail = client_for(cast.viewer).get(reverse("runbooks:detail", args=[cast.runbook.pk])).content.decode()
    assert "broken-tools" in detail and FAILED in detail
    # Saving the form unchanged keeps it: only moving onto a failed build is refused.
    cast.runbook.refresh_from_db()
    saved = client_for(cast.editor).post(
        reverse("runbooks:edit", args=[cast.runbook.pk]),
        {
            "title": "Renamed",
            "description": "",
            "tags": "",
            "environment": failed.pk,
            "revision": cast.runbook.revision,
        },
    )
    assert saved.status_code == 302
    cast.runbook.refresh_from_db()
    assert (cast.runbook.title, cast.runbook.environment_id) == ("Renamed", failed.pk)


def test_the_page_refuses_a_failed_build_posted_anyway_in_place(cast, client_for, environments):
    _ready, failed = environments
    answer = client_for(cast.editor).post(
        reverse("runbooks:create"), {"title": "Fail over", "description": "", "tags": "", "environment": failed.pk}
    )
    assert answer.status_code == 400
    assert "The environment “broken-tools” cannot be chosen: its Dockerfile build failed." in answer.content.decode()
    assert not Runbook.objects.filter(title="Fail over").exists()


def test_the_api_refuses_a_failed_build_with_a_clear_400(cast, api_for, environments):
    _ready, failed = environments
    created = api_for(cast.editor).post(
        "/api/v1/runbooks/", {"title": "Fail over", "environment": failed.pk}, format="json"
    )
    assert created.status_code == 400
    (message,) = created.json()["environment"]
    assert "“broken-tools”" in message and FAILED in message
    patched = api_for(cast.editor).patch(
        f"/api/v1/runbooks/{cast.runbook.pk}/",
        {"revision": cast.runbook.revision, "environment": failed.pk},
        format="json",
    )
    assert patched.status_code == 400
    assert FAILED in patched.json()["environment"][0]
    cast.runbook.refresh_from_db()
    assert cast.runbook.environment_id != failed.pk


def test_the_api_keeps_a_failed_build_a_runbook_is_already_on(cast, api_for, environments):
    _ready, failed = environments
    Runbook.objects.filter(pk=cast.runbook.pk).update(environment=failed)
    cast.runbook.refresh_from_db()
    patched = api_for(cast.editor).patch(
        f"/api/v1/runbooks/{cast.runbook.pk}/",
        {"revision": cast.runbook.revision, "environment": failed.pk, "title": "Renamed"},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["environment"] == failed.pk
