"""Runbook API refusals beyond the permission matrix (tests/test_permission_matrix/)."""

from apps.runbooks.models import Runbook


def test_a_runbook_that_does_not_exist_is_404_for_everyone(cast, api_for):
    missing = Runbook.objects.order_by("-pk").first().pk + 1000
    for path in (f"/api/v1/runbooks/{missing}/", f"/api/v1/runbooks/{missing}/access/"):
        assert api_for(cast.admin).get(path).status_code == 404
