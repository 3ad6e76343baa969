"""The model moved from apps.executions to apps.environments on the same table: its content type is
relabelled in place, so the grants that hang on it (a staff member's model permission, guardian's
object permissions, the admin's log) keep working under the new label."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from guardian.shortcuts import assign_perm

from apps.environments.models import ExecutionEnvironment

relabel = importlib.import_module("apps.environments.migrations.0002_content_type")


def _labels() -> list[str]:
    return list(ContentType.objects.filter(model="executionenvironment").values_list("app_label", flat=True))


def _run(direction) -> None:
    # The migration's function reads only the schema editor's connection; SQLite refuses a real
    # schema editor inside the test's transaction.
    direction(apps, SimpleNamespace(connection=connection))
    ContentType.objects.clear_cache()


@pytest.fixture
def before_the_move(cast):
    """A database as it was before the move: grants on the type still labelled "executions"."""
    environment = ExecutionEnvironment.objects.create(name="old", image="alpine:3.20")
    content_type = ContentType.objects.get_for_model(ExecutionEnvironment)
    cast.staff.user_permissions.add(
        Permission.objects.get(content_type=content_type, codename="change_executionenvironment")
    )
    assign_perm("view_executionenvironment", cast.outsider, environment)
    LogEntry.objects.create(
        user=cast.staff,
        content_type=content_type,
        object_id=str(environment.pk),
        object_repr=environment.name,
        action_flag=CHANGE,
    )
    ContentType.objects.filter(pk=content_type.pk).update(app_label="executions")
    ContentType.objects.clear_cache()
    return environment, content_type.pk


def test_the_grants_follow_the_model_to_its_new_label(cast, before_the_move):
    environment, type_id = before_the_move
    _run(relabel.forwards)
    assert _labels() == ["environments"]
    assert ContentType.objects.get_for_model(ExecutionEnvironment).pk == type_id, "the same row, relabelled"
    User = get_user_model()
    assert User.objects.get(pk=cast.staff.pk).has_perm("environments.change_executionenvironment")
    assert User.objects.get(pk=cast.outsider.pk).has_perm("environments.view_executionenvironment", environment)
    assert (
        LogEntry.objects.get().get_admin_url() == f"/admin/environments/executionenvironment/{environment.pk}/change/"
    )


def test_a_type_post_migrate_created_meanwhile_gives_way_to_the_one_holding_the_grants(cast, before_the_move):
    environment, type_id = before_the_move
    ContentType.objects.create(app_label="environments", model="executionenvironment")
    _run(relabel.forwards)
    assert _labels() == ["environments"]
    assert ContentType.objects.get_for_model(ExecutionEnvironment).pk == type_id
    User = get_user_model()
    assert User.objects.get(pk=cast.staff.pk).has_perm("environments.change_executionenvironment")
    assert User.objects.get(pk=cast.outsider.pk).has_perm("environments.view_executionenvironment", environment)


def test_unapplied_it_labels_the_type_executions_again(cast, before_the_move):
    _run(relabel.forwards)
    _run(relabel.backwards)
    assert _labels() == ["executions"]


def test_on_a_fresh_database_it_leaves_the_types_to_post_migrate(db):
    ContentType.objects.filter(model="executionenvironment").delete()
    _run(relabel.forwards)
    assert _labels() == []
