"""Test data builders (factory_boy) and the fixed cast.

Cast (healthchecks' alice/bob/charlie pattern): on one runbook, `owner`, `editor`, `runner` and
`viewer` hold those roles, `outsider` holds none, `staff` is is_staff without any role, `admin` is
a superuser. Passwords are the username.
"""

from types import SimpleNamespace

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create

ROLES = ("owner", "editor", "runner", "viewer")
CAST = (*ROLES, "outsider", "staff", "admin")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda number: f"user{number}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        """The password is the username unless one is given."""
        user.set_password(extracted or user.username)
        if create:
            user.save(update_fields=["password"])


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda number: f"group{number}")


def build_cast() -> SimpleNamespace:
    """The cast and their runbook (two blocks), each role granted through the services."""
    users = {
        name: UserFactory(username=name, is_staff=name in ("staff", "admin"), is_superuser=name == "admin")
        for name in CAST
    }
    runbook = runbook_create(
        user=users["owner"],
        title="Restart the payments API",
        description="When **p95 latency** alarms fire.",
        tags=["payments", "api"],
        blocks=[
            {"key": "intro", "kind": "instruction", "config": {"markdown": "Check the dashboard first."}},
            {"key": "restart", "kind": "command", "config": {"script": "echo restarting"}},
        ],
    )
    for role in ("editor", "runner", "viewer"):
        runbook_grant(runbook=runbook, actor=users["owner"], principal=users[role], role=role)
    return SimpleNamespace(runbook=runbook, team=GroupFactory(name="sre"), **users)
