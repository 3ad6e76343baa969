"""Credential roles as sets of guardian object permissions; `owner` includes `user`."""

from django.db import models

from apps.core.object_roles import RoleScheme
from apps.credentials.models import CredentialGroupObjectPermission, CredentialUserObjectPermission


class Role(models.TextChoices):
    USER = "user", "User"
    OWNER = "owner", "Owner"


USE = "credentials.use_credential"
CHANGE = "credentials.change_credential"
SHARE = "credentials.share_credential"
DELETE = "credentials.delete_credential"

ROLES = RoleScheme(
    noun="credential",
    order=(Role.USER, Role.OWNER),
    codenames={
        Role.USER: ("use_credential",),
        # share_credential last: it is the owner marker the one-owner rule counts.
        Role.OWNER: ("use_credential", "change_credential", "delete_credential", "share_credential"),
    },
    user_permissions=CredentialUserObjectPermission,
    group_permissions=CredentialGroupObjectPermission,
)
