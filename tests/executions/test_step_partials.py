from django.template.loader import render_to_string

from apps.executions.models import StepRun


def render_command(result: dict) -> str:
    step = StepRun(block_key="check", kind="command", status="succeeded", exit_code=0, result=result)
    return render_to_string("executions/steps/_command.html", {"step": step})


def test_a_command_without_published_values_shows_no_values_table():
    assert "Published values" not in render_command({"container_id": "abc123"})


def test_published_values_are_listed():
    html = render_command({"values": {"replicas": "3"}})
    assert "Published values" in html and "<code>replicas</code>" in html and "<code>3</code>" in html
