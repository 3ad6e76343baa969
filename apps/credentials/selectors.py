"""Reads of credentials, always through the caller's permissions. None of these decrypt a secret."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user, get_perms

from apps.blocks.kinds import BlockKind
from apps.credentials.models import Credential
from apps.credentials.roles import ROLES, USE


def credential_for_user(user: AbstractBaseUser, pk, perm: str = USE) -> Credential:
    """The one access check for credentials: 404 for outsiders, 403 for a role too weak for `perm`."""
    if not user.is_authenticated:
        raise Http404("No such credential.")
    try:
        credential = Credential.objects.select_related("owner").get(pk=pk)
    except (Credential.DoesNotExist, ValueError, TypeError):
        raise Http404("No such credential.") from None
    if not user.has_perm(USE, credential):
        raise Http404("No such credential.")
    if perm != USE and not user.has_perm(perm, credential):
        raise PermissionDenied("Your role on this credential does not allow that.")
    return credential


def credentials_visible_to(user: AbstractBaseUser) -> QuerySet:
    if not user.is_authenticated:
        return Credential.objects.none()
    return (
        get_objects_for_user(user, USE, klass=Credential, accept_global_perms=False, with_superuser=True)
        .select_related("owner")
        .order_by("name")
    )


def credential_role_of(user: AbstractBaseUser, credential: Credential) -> str | None:
    if user.is_superuser:
        return "owner"
    return ROLES.role_from_codenames(set(get_perms(user, credential)))


def credential_roles_for(user: AbstractBaseUser, credentials) -> dict[int, str | None]:
    """Roles for a page of credentials, one prefetch instead of a query per row."""
    credentials = list(credentials)
    checker = ObjectPermissionChecker(user)
    if credentials and not user.is_superuser:
        checker.prefetch_perms(credentials)
    return {
        credential.pk: "owner" if user.is_superuser else ROLES.role_from_codenames(set(checker.get_perms(credential)))
        for credential in credentials
    }


def credential_access_entries(credential: Credential) -> list[dict]:
    """Every grant as {"principal": "user:NAME"|"group:NAME", "role": "user"|"owner"}."""
    return ROLES.access_entries(credential)


def credential_ids_of_config(kind: str, config) -> set[int]:
    """The credential ids a block's config refers to (command `credentials`, api_call `credential`)."""
    if not isinstance(config, dict):
        return set()
    if kind == BlockKind.COMMAND:
        ids = config.get("credentials") or []
        return {value for value in ids if isinstance(value, int) and not isinstance(value, bool)}
    if kind == BlockKind.API_CALL:
        value = config.get("credential")
        return {value} if isinstance(value, int) and not isinstance(value, bool) else set()
    return set()


def credential_names_of(ids) -> dict[int, str]:
    """Names by id, one query (names are not secret; values never leave the store)."""
    return dict(Credential.objects.filter(pk__in=set(ids)).values_list("pk", "name"))
