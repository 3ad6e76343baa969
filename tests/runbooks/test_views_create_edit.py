from django.urls import reverse

from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Runbook
from apps.runbooks.services.runbooks import runbook_update

CREATE = reverse("runbooks:create")


def _snapshot(runbook: Runbook) -> tuple:
    runbook = Runbook.objects.get(pk=runbook.pk)
    blocks = [(b.key, b.title, b.kind, b.config, b.position) for b in runbook.blocks.all()]
    return (runbook.title, runbook.description, sorted(runbook.tags.names()), runbook.environment_id,
            runbook.parameters, runbook.revision, blocks)  # fmt: skip


def test_the_create_form_renders_every_field(cast, client_for):
    page = client_for(cast.outsider).get(CREATE)
    assert page.status_code == 200
    for name in (b'name="title"', b'name="description"', b'name="tags"', b'name="environment"'):
        assert name in page.content
    assert reverse("runbooks:preview").encode() in page.content
    assert reverse("runbooks:parameter_row").encode() in page.content


def test_it_creates_a_runbook_with_parameter_rows_and_redirects_to_it(cast, client_for):
    environment = ExecutionEnvironment.objects.create(name="alpine", image="alpine:3.20")
    answer = client_for(cast.editor).post(
        CREATE,
        {
            "title": "Fail over the database",
            "description": "When the **primary** is down.",
            "tags": "Database, failover, database",
            "environment": environment.pk,
            "param-a1-name": "REGION",
            "param-a1-label": "Region",
            "param-a1-default": "eu",
            "param-a1-choices": "eu, us",
            "param-a1-required": "on",
            "param-b2-name": "",  # an empty row is ignored
            "param-c3-name": "TICKET",
        },
    )
    runbook = Runbook.objects.get(title="Fail over the database")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("runbooks:detail", args=[runbook.pk])
    assert runbook.owner == cast.editor
    assert sorted(runbook.tags.names()) == ["database", "failover"]
    assert runbook.environment == environment
    assert runbook.parameters == [
        {"name": "REGION", "label": "Region", "default": "eu", "required": True, "choices": ["eu", "us"]},
        {"name": "TICKET", "label": "TICKET", "default": None, "required": False, "choices": None},
    ]


def test_it_shows_errors_in_place_and_creates_nothing(cast, client_for):
    before = Runbook.objects.count()
    answer = client_for(cast.owner).post(
        CREATE,
        {"title": "  ", "description": "kept text", "param-x-name": "9bad", "param-y-name": "OK", "param-y-choices": "a",
         "param-y-default": "b"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert Runbook.objects.count() == before
    text = answer.content.decode()
    assert "A title is required." in text
    assert "Use letters, digits and _" in text
    assert "The default must be one of the choices." in text
    assert "kept text" in text  # the user's input is not lost


def test_it_refuses_a_description_over_256_kib_and_saves_nothing(cast, client_for):
    before = Runbook.objects.count()
    answer = client_for(cast.owner).post(CREATE, {"title": "Huge", "description": "x" * (256 * 1024 + 1)})
    assert answer.status_code == 413
    assert "the limit is 262,144 bytes" in answer.content.decode()
    assert Runbook.objects.count() == before


def test_add_parameter_without_javascript_adds_a_row_and_saves_nothing(cast, client_for):
    before = Runbook.objects.count()
    answer = client_for(cast.owner).post(CREATE, {"title": "Draft", "param-a-name": "ONE", "add_parameter": "1"})
    assert answer.status_code == 200
    assert Runbook.objects.count() == before
    assert answer.content.count(b'class="param-row"') == 2
    assert b'value="ONE"' in answer.content


def test_a_removed_parameter_row_is_dropped(cast, client_for):
    runbook = cast.runbook
    client = client_for(cast.editor)
    client.post(
        reverse("runbooks:edit", args=[runbook.pk]),
        {"title": runbook.title, "revision": runbook.revision, "param-a-name": "KEEP", "param-b-name": "DROP",
         "param-b-remove": "1"},
    )  # fmt: skip
    runbook.refresh_from_db()
    assert [parameter["name"] for parameter in runbook.parameters] == ["KEEP"]


def test_the_parameter_row_endpoint_answers_a_fresh_row(cast, client_for):
    answer = client_for(cast.owner).get(reverse("runbooks:parameter_row"), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert answer.content.count(b'class="param-row"') == 1
    assert b"<html" not in answer.content


def test_the_preview_answers_sanitised_html(cast, client_for):
    answer = client_for(cast.viewer).post(
        reverse("runbooks:preview") + "?field=description",
        {"description": "**bold** <script>alert(1)</script> [x](javascript:alert(1))"},
    )
    assert answer.status_code == 200
    assert b"<strong>bold</strong>" in answer.content
    assert b"<script>" not in answer.content
    assert b'href="javascript' not in answer.content


def test_the_edit_form_carries_the_revision_and_current_values(cast, client_for):
    page = client_for(cast.editor).get(reverse("runbooks:edit", args=[cast.runbook.pk]))
    assert page.status_code == 200
    assert f'name="revision" value="{cast.runbook.revision}"'.encode() in page.content
    assert b"Restart the payments API" in page.content
    assert b"api, payments" in page.content


def test_it_saves_an_edit(cast, client_for):
    runbook = cast.runbook
    answer = client_for(cast.editor).post(
        reverse("runbooks:edit", args=[runbook.pk]),
        {"title": "Restart payments", "description": "new", "tags": "payments", "revision": runbook.revision},
    )
    assert answer.status_code == 302
    runbook.refresh_from_db()
    assert (runbook.title, runbook.description, list(runbook.tags.names())) == ("Restart payments", "new", ["payments"])
    assert runbook.last_modified_by == cast.editor


def test_a_stale_edit_names_who_changed_it_keeps_the_input_and_saves_nothing(cast, client_for):
    runbook = cast.runbook
    opened_at = runbook.revision
    runbook_update(runbook=runbook, user=cast.owner, revision=opened_at, title="Changed by the owner")
    before = _snapshot(runbook)
    answer = client_for(cast.editor).post(
        reverse("runbooks:edit", args=[runbook.pk]),
        {"title": "My unsaved title", "description": "my careful notes", "revision": opened_at},
    )
    assert answer.status_code == 409
    text = answer.content.decode()
    assert "This runbook was changed by owner at" in text
    assert "since you opened it" in text
    assert "my careful notes" in text and "My unsaved title" in text
    assert reverse("runbooks:edit", args=[runbook.pk]) in text  # the reload link
    assert _snapshot(runbook) == before


def test_bad_tags_and_an_unknown_environment_are_refused_in_place(cast, client_for):
    before = Runbook.objects.count()
    too_many = ", ".join(f"tag{number}" for number in range(21))
    answer = client_for(cast.owner).post(CREATE, {"title": "Tags", "tags": too_many, "environment": "999999"})
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "At most 20 tags." in text
    assert "There is no environment with id 999999." in text
    assert Runbook.objects.count() == before
    long_tag = client_for(cast.owner).post(CREATE, {"title": "Tags", "tags": "x" * 51})
    assert long_tag.status_code == 400
    assert "is longer than 50 characters" in long_tag.content.decode()
    assert Runbook.objects.count() == before
