from apps.runbooks.selectors import runbook_role_of


def test_the_cast_holds_the_documented_roles(cast):
    assert runbook_role_of(cast.owner, cast.runbook) == "owner"
    assert runbook_role_of(cast.editor, cast.runbook) == "editor"
    assert runbook_role_of(cast.runner, cast.runbook) == "runner"
    assert runbook_role_of(cast.viewer, cast.runbook) == "viewer"
    assert runbook_role_of(cast.outsider, cast.runbook) is None
    assert runbook_role_of(cast.staff, cast.runbook) is None
