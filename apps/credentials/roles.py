"""Credential roles as sets of guardian object permissions; `owner` includes `user`."""

from django.db import models


class Role(models.TextChoices):
    USER = "user", "User"
    OWNER = "owner", "Owner"


USE = "credentials.use_credential"
CHANGE = "credentials.change_credential"
SHARE = "credentials.share_credential"
DELETE = "credentials.delete_credential"

ROLE_CODENAMES: dict[str, list[str]] = {
    Role.USER: ["use_credential"],
    Role.OWNER: ["use_credential", "change_credential", "share_credential", "delete_credential"],
}
ALL_CODENAMES = ROLE_CODENAMES[Role.OWNER]
ROLE_ORDER = [Role.USER, Role.OWNER]


def role_from_codenames(codenames: set[str]) -> str | None:
    for role in reversed(ROLE_ORDER):
        if set(ROLE_CODENAMES[role]) <= codenames:
            return role
    return None
