"""The variable a command reads for a parameter is shown where scripts are written, not only on
the run form: `$HOST` instead of `$RB_PARAM_HOST` is a natural mistake."""

import re

from django.urls import reverse

from apps.runbooks.services.runbooks import runbook_update

HTMX = {"HTTP_HX_REQUEST": "true"}


def _with_parameter(cast):
    runbook = cast.runbook
    runbook_update(
        runbook=runbook,
        user=cast.owner,
        revision=runbook.revision,
        parameters=[{"name": "host", "label": "Host", "default": "db1"}],
    )
    runbook.refresh_from_db()
    return runbook


def test_the_editor_shows_each_parameters_variable_next_to_its_name(cast, client_for):
    runbook = _with_parameter(cast)
    text = client_for(cast.editor).get(reverse("runbooks:edit", args=[runbook.pk])).content.decode()
    assert re.search(r'<code class="param-var[^"]*"[^>]*>\$RB_PARAM_HOST</code>', text)
    assert "not <code>$HOST</code>" in text


def test_the_command_blocks_script_help_names_this_runbooks_variables(cast, client_for):
    runbook = _with_parameter(cast)
    answer = client_for(cast.editor).get(reverse("runbooks:block_new", args=[runbook.pk]), {"kind": "command"}, **HTMX)
    help_text = re.search(r'id="[^"]*script_helptext">(.*?)</div>', answer.content.decode(), re.S).group(1)
    assert "$RB_PARAM_NAME (not $NAME)" in help_text
    assert "This runbook&#x27;s parameters: $RB_PARAM_HOST." in help_text or "parameters: $RB_PARAM_HOST." in help_text
