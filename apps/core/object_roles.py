"""Roles on one object as nested sets of guardian object permissions.

Runbooks (viewer < runner < editor < owner) and credentials (user < owner) share the mechanics:
reading who holds which role, granting exactly one role, keeping at least one owner, and replacing
every grant at once. Each app describes its roles with a RoleScheme and keeps its own audit events.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model
from guardian.shortcuts import assign_perm, remove_perm

from apps.core.errors import InvalidInput


def parse_principal(principal: str):
    """`user:NAME` or `group:NAME` → the active User or the Group, or InvalidInput."""
    if not isinstance(principal, str) or ":" not in principal:
        raise InvalidInput({"principal": ["Write the principal as user:NAME or group:NAME."]})
    kind, _, name = principal.partition(":")
    if kind == "user":
        User = get_user_model()
        found = User.objects.filter(**{User.USERNAME_FIELD: name}, is_active=True).first()
    elif kind == "group":
        found = Group.objects.filter(name=name).first()
    else:
        raise InvalidInput({"principal": ["Write the principal as user:NAME or group:NAME."]})
    if found is None:
        raise InvalidInput({"principal": [f"There is no {kind} named “{name}”."]})
    return found


def principal_label(principal) -> str:
    return f"{'group' if isinstance(principal, Group) else 'user'}:{principal}"


@dataclass(frozen=True)
class RoleScheme:
    noun: str  # "runbook", "credential": used in messages
    order: tuple[str, ...]  # lowest role first; each role's codenames include the ones below
    codenames: dict[str, tuple[str, ...]]
    # Direct-foreign-key guardian tables of the object's model.
    user_permissions: type[Model]
    group_permissions: type[Model]

    @property
    def owner_role(self) -> str:
        return self.order[-1]

    @property
    def all_codenames(self) -> tuple[str, ...]:
        return self.codenames[self.owner_role]

    def role_from_codenames(self, codenames: set[str]) -> str | None:
        """The highest role whose permissions are all present."""
        for role in reversed(self.order):
            if set(self.codenames[role]) <= codenames:
                return role
        return None

    def check_role(self, role) -> None:
        if role is not None and role not in self.order:
            raise InvalidInput({"role": [f"Unknown role “{role}”. Choose one of: {', '.join(self.order)}."]})

    def access_entries(self, obj) -> list[dict]:
        """Every grant as {"principal": "user:NAME"|"group:NAME", "role": ...}, sorted, groups first."""
        by_principal: dict[tuple[str, str], set[str]] = {}
        for row in self.user_permissions.objects.filter(content_object=obj).select_related("user", "permission"):
            by_principal.setdefault(("user", row.user.get_username()), set()).add(row.permission.codename)
        for row in self.group_permissions.objects.filter(content_object=obj).select_related("group", "permission"):
            by_principal.setdefault(("group", row.group.name), set()).add(row.permission.codename)
        entries = []
        for (kind, name), codenames in sorted(by_principal.items()):
            role = self.role_from_codenames(codenames)
            if role:
                entries.append({"principal": f"{kind}:{name}", "role": str(role)})
        return entries

    def set_role(self, obj, principal, role: str | None) -> None:
        """Give `principal` exactly `role`'s permissions (None: none at all)."""
        wanted = set(self.codenames[role]) if role else set()
        for codename in self.all_codenames:
            if codename in wanted:
                assign_perm(codename, principal, obj)
            else:
                remove_perm(codename, principal, obj)

    def grant(self, obj, principal, role: str | None) -> str | None:
        """Give `principal` exactly `role` on `obj` (None revokes), keeping an owner; call inside a
        transaction. Returns the role held before, so the caller can audit a real change."""
        self.check_role(role)
        type(obj).objects.select_for_update(of=("self",)).get(pk=obj.pk)
        label = principal_label(principal)
        previous = next((entry["role"] for entry in self.access_entries(obj) if entry["principal"] == label), None)
        self.set_role(obj, principal, role)
        self.require_an_owner(obj)
        return previous

    def require_an_owner(self, obj) -> None:
        """Call after a change, inside its transaction: raising rolls the change back."""
        owner_codename = self.all_codenames[-1]
        users = self.user_permissions.objects.filter(
            content_object=obj, permission__codename=owner_codename, user__is_active=True
        ).exists()
        groups = self.group_permissions.objects.filter(content_object=obj, permission__codename=owner_codename).exists()
        if not (users or groups):
            raise InvalidInput({"role": [f"A {self.noun} must keep at least one owner."]})

    def replace_access(self, obj, entries, grant: Callable[[object, str | None], None]) -> None:
        """Make `entries` ([{principal, role}]) the only grants, through `grant(principal, role)`.

        Everything is validated before anything changes; owners are granted first and revocations
        come last, so the one-owner rule never trips midway.
        """
        if not isinstance(entries, list):
            raise InvalidInput({"non_field_errors": ["Send a list of {principal, role} entries."]})
        wanted, errors = {}, []
        for entry in entries:
            if not isinstance(entry, dict):
                errors.append({"non_field_errors": ["Each entry must be an object."]})
                continue
            problems: dict = {}
            principal = None
            try:
                principal = parse_principal(entry.get("principal"))
            except InvalidInput as error:
                problems.update(error.errors)
            role = entry.get("role")
            if not isinstance(role, str) or role not in self.order:
                problems["role"] = [f"Unknown role “{role}”. Choose one of: {', '.join(self.order)}."]
            errors.append(problems)
            if principal is not None and not problems:
                wanted[(type(principal), principal.pk)] = (principal, role)
        if any(errors):
            raise InvalidInput({"entries": errors})
        if not any(role == self.owner_role for _, role in wanted.values()):
            raise InvalidInput({"non_field_errors": [f"A {self.noun} must keep at least one owner."]})
        User = get_user_model()
        current = [
            *User.objects.filter(pk__in=self.user_permissions.objects.filter(content_object=obj).values("user")),
            *Group.objects.filter(pk__in=self.group_permissions.objects.filter(content_object=obj).values("group")),
        ]
        stale = [principal for principal in current if (type(principal), principal.pk) not in wanted]
        for principal, role in sorted(wanted.values(), key=lambda item: item[1] != self.owner_role):
            grant(principal, role)
        for principal in stale:
            grant(principal, None)
