"""GET /api/v1/runbooks/: what each caller may see, searched and paginated in a fixed number of queries."""

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from guardian.shortcuts import get_perms_for_model
from taggit.models import Tag, TaggedItem

from apps.runbooks.models import Block, Runbook, RunbookUserObjectPermission, RunbookVersion
from apps.runbooks.services.runbooks import runbook_archive, runbook_create

RUNBOOK_KEYS = {
    "id", "uuid", "title", "description", "description_html", "tags", "environment", "parameters", "blocks",
    "revision", "published_version", "owner", "created_at", "updated_at",
}  # fmt: skip


def test_it_answers_a_paginated_list_of_runbooks_in_the_documented_shape(cast, api_for):
    body = api_for(cast.viewer).get("/api/v1/runbooks/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    runbook = body["results"][0]
    assert set(runbook) == RUNBOOK_KEYS
    assert runbook["id"] == cast.runbook.pk
    assert runbook["tags"] == ["api", "payments"]
    assert runbook["owner"] == "owner"
    assert [block["key"] for block in runbook["blocks"]] == ["intro", "restart"]
    assert all(set(block) == {"key", "title", "kind", "config"} for block in runbook["blocks"])


def test_outsiders_see_an_empty_list(cast, api_for):
    body = api_for(cast.outsider).get("/api/v1/runbooks/").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_archived_runbooks_are_not_listed(cast, api_for):
    runbook_archive(runbook=cast.runbook, user=cast.owner)
    assert api_for(cast.owner).get("/api/v1/runbooks/").json()["count"] == 0


def test_it_searches_title_description_and_tags(cast, api_for):
    runbook_create(user=cast.owner, title="Rotate TLS certificates", description="Before **expiry**.", tags=["tls"])
    api = api_for(cast.owner)
    titles = lambda query: [item["title"] for item in api.get("/api/v1/runbooks/", {"q": query}).json()["results"]]  # noqa: E731
    assert titles("rotate") == ["Rotate TLS certificates"]
    assert titles("EXPIRY") == ["Rotate TLS certificates"]
    assert titles("payments") == ["Restart the payments API"]
    assert titles("nothing-like-this") == []


def test_it_filters_by_tag(cast, api_for):
    runbook_create(user=cast.owner, title="Rotate TLS certificates", tags=["tls", "api"])
    api = api_for(cast.owner)
    only_tls = api.get("/api/v1/runbooks/", {"tag": "tls"}).json()["results"]
    both = api.get("/api/v1/runbooks/", {"tag": "api"}).json()["results"]
    assert [item["title"] for item in only_tls] == ["Rotate TLS certificates"]
    assert len(both) == 2


def test_published_version_is_the_latest_version_number(cast, api_for):
    api = api_for(cast.viewer)
    assert api.get("/api/v1/runbooks/").json()["results"][0]["published_version"] is None
    for number in (1, 2):
        RunbookVersion.objects.create(
            runbook=cast.runbook, number=number, message=f"v{number}", author=cast.owner, snapshot={}, content_hash="0"
        )
    assert api.get("/api/v1/runbooks/").json()["results"][0]["published_version"] == 2
    assert api.get(f"/api/v1/runbooks/{cast.runbook.pk}/").json()["published_version"] == 2


def make_visible_runbooks(user, count: int) -> None:
    """Bulk rows, so the test measures the API's queries rather than waiting on 300 service calls."""
    now = timezone.now()
    runbooks = Runbook.objects.bulk_create(
        [Runbook(title=f"Runbook {number}", owner=user, created_at=now, updated_at=now) for number in range(count)]
    )
    view = next(perm for perm in get_perms_for_model(Runbook) if perm.codename == "view_runbook")
    RunbookUserObjectPermission.objects.bulk_create(
        [RunbookUserObjectPermission(permission=view, user=user, content_object=runbook) for runbook in runbooks]
    )
    Block.objects.bulk_create(
        [
            Block(runbook=runbook, key=key, kind="timer", config={"seconds": 5}, position=position)
            for runbook in runbooks
            for position, key in enumerate(("wait", "again"))
        ]
    )
    tags = [Tag.objects.create(name="bulk", slug="bulk"), Tag.objects.create(name="many", slug="many")]
    content_type = ContentType.objects.get_for_model(Runbook)
    TaggedItem.objects.bulk_create(
        [TaggedItem(tag=tag, content_type=content_type, object_id=runbook.pk) for runbook in runbooks for tag in tags]
    )
    for runbook in runbooks[:100]:
        RunbookVersion.objects.create(
            runbook=runbook, number=1, message="first", author=user, snapshot={}, content_hash="0"
        )


def test_the_list_takes_a_fixed_number_of_queries_for_300_runbooks(cast, api_for, django_assert_max_num_queries):
    make_visible_runbooks(cast.viewer, 300)
    api = api_for(cast.viewer)
    # Token lookup, last-used stamp, permission lookup, count, page, tags, blocks: none per runbook.
    with django_assert_max_num_queries(7):
        body = api.get("/api/v1/runbooks/").json()
    assert body["count"] == 301
    assert len(body["results"]) == 50
    assert {tuple(item["tags"]) for item in body["results"]} == {("bulk", "many")}
    assert {len(item["blocks"]) for item in body["results"]} == {2}
    with django_assert_max_num_queries(7):
        last_page = api.get("/api/v1/runbooks/", {"page": 7}).json()
    assert len(last_page["results"]) == 1
    assert last_page["next"] is None


def test_an_out_of_range_page_is_404(cast, api_for):
    assert api_for(cast.owner).get("/api/v1/runbooks/", {"page": 99}).status_code == 404
