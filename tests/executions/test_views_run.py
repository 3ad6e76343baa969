"""Run controls and the parameters page: deep links pre-fill and never run; POST runs; errors in place."""

import pytest

from apps.executions.models import Execution
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create
from tests.support.executions import command

PARAMETERS = [
    {"name": "HOST", "label": "Host", "required": True},
    {"name": "MODE", "label": "Mode", "choices": ["soft", "hard"], "default": "soft"},
]


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(
        cast.owner,
        [{"key": "look", "kind": "instruction", "config": {"markdown": "Look"}}, command("restart", "echo hi")],
        parameters=PARAMETERS,
    )


@pytest.fixture
def plain(cast, make_runbook):
    return make_runbook(cast.owner, [command("restart", "echo hi")], title="No parameters")


def run_url(runbook) -> str:
    return f"/runbooks/{runbook.pk}/run"


def test_a_deep_link_prefills_the_form_and_never_runs(cast, client_for, runbook):
    page = client_for(cast.runner).get(run_url(runbook) + "?HOST=db-1.internal&MODE=hard&UNKNOWN=x")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="param-HOST" id="param-HOST" value="db-1.internal"' in html
    assert '<option value="hard" selected>' in html
    assert "UNKNOWN" not in html
    assert not Execution.objects.exists(), "a GET must never start a run"


def test_a_deep_link_value_is_escaped(cast, client_for, runbook):
    html = client_for(cast.runner).get(run_url(runbook) + '?HOST="><script>alert(1)</script>').content.decode()
    assert "<script>alert(1)" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


def test_posting_the_form_starts_the_run_and_leads_to_its_page(cast, client_for, runbook):
    answer = client_for(cast.runner).post(run_url(runbook), {"param-HOST": "db-1", "param-MODE": "hard"})
    execution = Execution.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/executions/{execution.pk}/"
    assert execution.params == {"HOST": "db-1", "MODE": "hard"}
    assert (execution.version.number, execution.draft, execution.mode) == (1, False, "full")
    assert execution.triggered_by == cast.runner


def test_a_missing_required_parameter_is_shown_in_place(cast, client_for, runbook):
    answer = client_for(cast.runner).post(run_url(runbook), {"param-HOST": "", "param-MODE": "soft"})
    html = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="param-field-HOST"' in html and "This parameter is required." in html
    assert not Execution.objects.exists()


def test_a_value_outside_the_choices_is_shown_in_place(cast, client_for, runbook):
    answer = client_for(cast.runner).post(run_url(runbook), {"param-HOST": "db", "param-MODE": "nuke"})
    assert answer.status_code == 400
    assert "Choose one of: soft, hard." in answer.content.decode()
    assert not Execution.objects.exists()


def test_an_unknown_parameter_is_refused_with_its_name(cast, client_for, runbook):
    answer = client_for(cast.runner).post(run_url(runbook), {"param-HOST": "db", "param-TYPO": "x"})
    assert answer.status_code == 400
    assert "TYPO: This runbook has no such parameter." in answer.content.decode()
    assert not Execution.objects.exists()


def test_a_too_long_value_is_refused(cast, client_for, runbook):
    answer = client_for(cast.runner).post(run_url(runbook), {"param-HOST": "x" * 5000})
    assert answer.status_code == 400
    assert "Keep the value under 4,096 bytes." in answer.content.decode()
    assert not Execution.objects.exists()


def test_redis_down_is_a_clear_error_and_creates_nothing(cast, client_for, runbook, settings):
    # A real closed port: nothing listens on 127.0.0.1:1.
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.RUNBOOKS_QUEUES.values()}
    answer = client_for(cast.runner).post(run_url(runbook), {"param-HOST": "db"})
    assert answer.status_code == 503
    assert "Could not queue the run: Redis is not reachable at 127.0.0.1:1." in answer.content.decode()
    assert not Execution.objects.exists()


def test_a_block_run_button_runs_only_that_block(cast, client_for, plain):
    answer = client_for(cast.runner).post(run_url(plain), {"run-block": "restart", "run-version": ""})
    execution = Execution.objects.get()
    assert answer.status_code == 302
    assert (execution.mode, execution.block_key) == ("block", "restart")
    assert list(execution.steps.values_list("block_key", flat=True)) == ["restart"]


def test_an_unknown_block_is_refused_in_place(cast, client_for, plain):
    answer = client_for(cast.runner).post(run_url(plain), {"run-block": "nope"})
    assert answer.status_code == 400
    assert "no block “nope”" in answer.content.decode()
    assert not Execution.objects.exists()


def test_editors_may_run_the_draft(cast, client_for, plain):
    client_for(cast.editor).post(run_url(plain), {"run-version": "draft"})
    execution = Execution.objects.get()
    assert (execution.draft, execution.version) == (True, None)


def test_a_runner_asking_for_the_draft_runs_the_published_version(cast, client_for, plain):
    client_for(cast.runner).post(run_url(plain), {"run-version": "draft"})
    execution = Execution.objects.get()
    assert (execution.draft, execution.version.number) == (False, 1)


def test_the_runbook_page_offers_the_version_choice_to_editors_only(cast, client_for, plain):
    editor_html = client_for(cast.editor).get(f"/runbooks/{plain.pk}/").content.decode()
    assert 'id="run-form"' in editor_html and 'value="draft"' in editor_html
    assert "Latest published (v1)" in editor_html
    assert 'form="run-form" name="run-block" value="restart"' in editor_html
    runner_html = client_for(cast.runner).get(f"/runbooks/{plain.pk}/").content.decode()
    assert 'id="run-form"' in runner_html and 'value="draft"' not in runner_html
    assert 'method="post"' in runner_html.split('id="run-form"')[1].split(">")[0]
    viewer_html = client_for(cast.viewer).get(f"/runbooks/{plain.pk}/").content.decode()
    assert 'id="run-form"' not in viewer_html
    assert 'form="run-form"' not in viewer_html


def test_with_parameters_the_run_buttons_lead_to_the_form(cast, client_for, runbook):
    html = client_for(cast.runner).get(f"/runbooks/{runbook.pk}/").content.decode()
    assert 'method="get"' in html.split('id="run-form"')[1].split(">")[0]


def test_runners_see_run_disabled_with_a_reason_when_nothing_is_published(cast, client_for, make_runbook):
    unpublished = make_runbook(cast.owner, [command("restart", "echo hi")], publish=False)
    html = client_for(cast.runner).get(f"/runbooks/{unpublished.pk}/").content.decode()
    assert "Nothing is published yet" in html
    assert "disabled" in html.split('id="run-form"')[1].split("</form>")[0]
    answer = client_for(cast.runner).post(run_url(unpublished), {})
    assert answer.status_code == 400 and "Nothing is published yet" in answer.content.decode()
    assert not Execution.objects.exists()
    client_for(cast.editor).post(run_url(unpublished), {})
    assert Execution.objects.get().draft is True, "editors run the draft when nothing is published"


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 404), ("staff", 404)])
def test_people_who_cannot_run_are_refused(cast, client_for, runbook, role, status):
    client = client_for(getattr(cast, role))
    assert client.get(run_url(runbook)).status_code == status
    assert client.post(run_url(runbook), {"param-HOST": "db"}).status_code == status
    assert not Execution.objects.exists()


def test_anonymous_users_are_sent_to_sign_in(client_for, runbook):
    answer = client_for(None).post(run_url(runbook), {"param-HOST": "db"})
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not Execution.objects.exists()


def test_a_runbook_without_environment_says_so(cast, client_for, db):
    runbook = runbook_create(user=cast.owner, title="Nowhere", blocks=[command("a", "true")])
    runbook_grant(runbook=runbook, actor=cast.owner, principal=cast.editor, role="editor")
    answer = client_for(cast.editor).post(run_url(runbook), {})
    assert answer.status_code == 400
    assert "no default one" in answer.content.decode()


def test_a_block_link_with_parameters_keeps_the_block_through_the_form(cast, client_for, runbook):
    """The Run button of one block on a runbook with parameters leads here; the form must post that key."""
    client = client_for(cast.runner)
    page = client.get(run_url(runbook) + "?run-block=restart&HOST=db-1").content.decode()
    assert 'name="run-block" value="restart"' in page
    assert "Only the block <code>restart</code> runs." in page
    assert "Block Node" not in page
    answer = client.post(run_url(runbook), {"run-block": "restart", "param-HOST": "db-1", "param-MODE": "soft"})
    execution = Execution.objects.get()
    assert answer.status_code == 302
    assert (execution.mode, execution.block_key) == ("block", "restart")
