"""The operators' admin: every model browsable, read-only models really read-only."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_authenticate, api_token_create
from apps.audit.models import AuditEvent
from apps.runbooks.models import Runbook
from tests.support.admin import OURS, READ_ONLY, REGISTERED, TABLES, url


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_changelist_renders_for_the_superuser(operator, rows, model):
    response = operator.get(url(model, "changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", TABLES, ids=lambda model: model._meta.label)
def test_every_changelist_search_works(operator, rows, model):
    response = operator.get(url(model, "changelist"), {"q": "payments"})
    assert response.status_code == 200


@pytest.mark.parametrize("model", TABLES, ids=lambda model: model._meta.label)
def test_every_change_page_renders_for_the_superuser(operator, rows, model):
    instance = model._default_manager.first()
    if instance is None:
        assert model not in OURS, f"the fixture made no {model._meta.label}"
        pytest.skip(f"no {model._meta.label} row to open (another team's model)")
    response = operator.get(url(model, "change", instance.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", OURS, ids=lambda model: model._meta.label)
def test_every_model_of_the_project_is_registered(model):
    assert model in admin.site._registry


def test_the_runbook_admin_has_guardian_and_history_pages(operator, rows):
    runbook = rows.runbook
    change = operator.get(url(Runbook, "change", runbook.pk))
    assert url(Runbook, "permissions", runbook.pk) in change.text
    assert operator.get(url(Runbook, "permissions", runbook.pk)).status_code == 200
    history = operator.get(url(Runbook, "history", runbook.pk))
    assert history.status_code == 200
    assert "owner" in history.text


def test_the_runbook_change_page_inlines_its_blocks(operator, rows):
    response = operator.get(url(Runbook, "change", rows.runbook.pk))
    assert 'name="blocks-0-config"' in response.text
    assert 'name="blocks-1-config"' in response.text


def test_people_without_staff_status_cannot_open_the_admin(client_for, rows):
    response = client_for(rows.owner).get(url(Runbook, "changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# Read-only models -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_refuse_add(operator, rows, model):
    assert operator.get(url(model, "add")).status_code == 403
    before = model._default_manager.count()
    assert operator.post(url(model, "add"), {}).status_code == 403
    assert model._default_manager.count() == before


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_show_no_save_button(operator, rows, model):
    instance = model._default_manager.first()
    response = operator.get(url(model, "change", instance.pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    assert url(model, "delete", instance.pk) not in response.text


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_refuse_change_and_delete(operator, rows, model):
    instance = model._default_manager.first()
    before = {field.attname: getattr(instance, field.attname) for field in model._meta.concrete_fields}
    assert operator.post(url(model, "change", instance.pk), {"message": "tampered"}).status_code == 403
    assert operator.post(url(model, "delete", instance.pk), {"post": "yes"}).status_code == 403
    instance.refresh_from_db()
    assert {field.attname: getattr(instance, field.attname) for field in model._meta.concrete_fields} == before


def test_read_only_models_offer_no_bulk_delete(operator, rows):
    event = AuditEvent.objects.first()
    response = operator.post(
        url(AuditEvent, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert response.status_code in (200, 302)


# API tokens -------------------------------------------------------------------------------------


def test_the_token_admin_never_shows_the_hash(operator, rows):
    token = ApiToken.objects.get(user=rows.viewer)
    for page in (url(ApiToken, "changelist"), url(ApiToken, "change", token.pk)):
        response = operator.get(page)
        assert response.status_code == 200
        assert token.token_hash not in response.text
        assert "token_hash" not in response.text
    assert token.prefix in operator.get(url(ApiToken, "changelist")).text


def test_the_token_admin_cannot_search_by_hash(operator, rows):
    token = ApiToken.objects.get(user=rows.viewer)
    response = operator.get(url(ApiToken, "changelist"), {"q": token.token_hash})
    assert "0 api tokens" in response.text or "0 results" in response.text


def test_the_token_admin_has_no_add(operator, rows):
    assert operator.get(url(ApiToken, "add")).status_code == 403
    assert url(ApiToken, "add") not in operator.get(url(ApiToken, "changelist")).text


def test_the_token_admin_can_revoke(operator, rows):
    token, value = api_token_create(user=rows.runner, name="ci")
    response = operator.post(
        url(ApiToken, "changelist"), {"action": "revoke_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert "Revoked 1 token(s)." in response.text
    assert api_token_authenticate(value=value) is None
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk), actor=rows.admin).exists()


def test_the_token_admin_refuses_edits(operator, rows):
    token = ApiToken.objects.get(user=rows.viewer)
    response = operator.post(url(ApiToken, "change", token.pk), {"name": "renamed", "user": rows.admin.pk})
    assert response.status_code == 403
    token.refresh_from_db()
    assert (token.name, token.user) == ("laptop", rows.viewer)


# Runbook saves ----------------------------------------------------------------------------------


def test_no_model_of_the_project_is_missing_from_the_admin():
    # simple-history's Historical* tables are browsed through each model's own history page.
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model.__module__.startswith("apps.")
        and not model.__name__.startswith("Historical")
        and model not in admin.site._registry
    ]
    assert missing == []
