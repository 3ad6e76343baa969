"""Every authoring route × the roles that must be refused: outsiders 404, weak roles 403, never a login redirect."""

import pytest
from django.urls import reverse


def _routes(runbook, block) -> list[tuple[str, str, str]]:
    """(method, url, weakest role allowed); destructive routes last, so allowed roles reach them all."""
    pk, block_pk = runbook.pk, block.pk
    return [
        ("get", reverse("runbooks:detail", args=[pk]), "viewer"),
        ("get", reverse("runbooks:edit", args=[pk]), "editor"),
        ("post", reverse("runbooks:edit", args=[pk]), "editor"),
        ("get", reverse("runbooks:block_new", args=[pk]) + "?kind=timer", "editor"),
        ("post", reverse("runbooks:block_create", args=[pk]), "editor"),
        ("post", reverse("runbooks:blocks_reorder", args=[pk]), "editor"),
        ("get", reverse("runbooks:block_detail", args=[pk, block_pk]), "viewer"),
        ("get", reverse("runbooks:block_edit", args=[pk, block_pk]), "editor"),
        ("post", reverse("runbooks:block_edit", args=[pk, block_pk]), "editor"),
        ("get", reverse("runbooks:block_delete", args=[pk, block_pk]), "editor"),
        ("post", reverse("runbooks:block_move", args=[pk, block_pk]), "editor"),
        ("post", reverse("runbooks:block_delete", args=[pk, block_pk]), "editor"),
        ("get", reverse("runbooks:share", args=[pk]), "owner"),
        ("post", reverse("runbooks:share_grant", args=[pk]), "owner"),
        ("post", reverse("runbooks:share_change", args=[pk]), "owner"),
        ("get", reverse("runbooks:archive", args=[pk]), "owner"),
        ("post", reverse("runbooks:archive", args=[pk]), "owner"),
    ]


ORDER = ["viewer", "runner", "editor", "owner"]


@pytest.mark.parametrize("who", ["outsider", "staff", "viewer", "runner", "editor"])
def test_too_weak_roles_are_refused_on_every_route(cast, client_for, who):
    block = cast.runbook.blocks.get(key="intro")
    client = client_for(getattr(cast, who))
    for method, url, weakest in _routes(cast.runbook, block):
        answer = getattr(client, method)(
            url, {"direction": "up", "revision": cast.runbook.revision} if method == "post" else None
        )
        if who in ("outsider", "staff"):
            assert answer.status_code == 404, (who, method, url)
        elif ORDER.index(who) < ORDER.index(weakest):
            assert answer.status_code == 403, (who, method, url)
            assert b"Not allowed" in answer.content
        else:
            assert answer.status_code not in (403, 404), (who, method, url)


def test_another_runbooks_block_is_not_found(cast, client_for):
    from apps.runbooks.services.runbooks import runbook_create

    other = runbook_create(
        user=cast.editor, title="Other", blocks=[{"key": "x", "kind": "timer", "config": {"seconds": 1}}]
    )
    foreign = other.blocks.get()
    url = reverse("runbooks:block_edit", args=[cast.runbook.pk, foreign.pk])
    assert client_for(cast.editor).get(url).status_code == 404


def test_writes_refuse_get(cast, client_for):
    for name in ("share_grant", "share_change", "blocks_reorder", "block_create", "preview"):
        args = [] if name == "preview" else [cast.runbook.pk]
        assert client_for(cast.owner).get(reverse(f"runbooks:{name}", args=args)).status_code == 405


def test_the_404_page_reads_well(cast, client_for):
    answer = client_for(cast.outsider).get(reverse("runbooks:detail", args=[cast.runbook.pk]))
    assert answer.status_code == 404
    assert b"Not found" in answer.content
    assert b"Restart the payments API" not in answer.content
