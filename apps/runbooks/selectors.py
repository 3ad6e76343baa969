"""Reads of runbooks, always through the caller's permissions."""

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user, get_perms

from apps.credentials.selectors import credential_names_of
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import ROLES, VIEW, Role
from apps.runbooks.warnings import block_warnings


def runbook_for_user(user: AbstractBaseUser, pk, perm: str = VIEW, *, queryset: QuerySet | None = None) -> Runbook:
    """The one access check for runbooks: 404 for outsiders, 403 for a role too weak for `perm`.

    Used by every page, API view and consumer so they can never disagree.
    """
    if not user.is_authenticated:
        raise Http404("No such runbook.")
    try:
        runbook = (queryset if queryset is not None else Runbook.objects.active()).get(pk=pk)
    except (Runbook.DoesNotExist, ValueError, TypeError):
        raise Http404("No such runbook.") from None
    if not user.has_perm(VIEW, runbook):
        raise Http404("No such runbook.")
    if perm != VIEW and not user.has_perm(perm, runbook):
        raise PermissionDenied("Your role on this runbook does not allow that.")
    return runbook


def runbooks_visible_to(user: AbstractBaseUser, *, q: str = "", tag: str = "") -> QuerySet:
    """Active runbooks the user may view, with what list pages show, in a fixed number of queries."""
    if not user.is_authenticated:
        return Runbook.objects.none()
    queryset = get_objects_for_user(
        user, VIEW, klass=Runbook.objects.active(), accept_global_perms=False, with_superuser=True
    )
    if q:
        queryset = queryset.filter(
            Q(title__icontains=q) | Q(description__icontains=q) | Q(tags__name__icontains=q)
        ).distinct()
    if tag:
        queryset = queryset.filter(tags__name=tag.lower())
    return queryset.select_related("owner").prefetch_related("tags").order_by("-updated_at", "-pk")


def runbook_role_of(user: AbstractBaseUser, runbook: Runbook) -> str | None:
    """The user's effective role (direct or through groups); superusers count as owners."""
    if user.is_superuser:
        return "owner"
    return ROLES.role_from_codenames(set(get_perms(user, runbook)))


def runbook_access_entries(runbook: Runbook) -> list[dict]:
    """Every grant on the runbook as {"principal": "user:NAME"|"group:NAME", "role": ...}."""
    return ROLES.access_entries(runbook)


def groups_of_interest() -> QuerySet:
    return Group.objects.order_by("name")


def _credential_ids(block: Block) -> list[int]:
    """In the order the config names them (a command's list, an api_call's one)."""
    config = block.config if isinstance(block.config, dict) else {}
    ids = config.get("credentials") if block.kind == "command" else [config.get("credential")]
    return [pk for pk in ids or [] if isinstance(pk, int) and not isinstance(pk, bool)]


def blocks_shown(blocks) -> list[Block]:
    """Blocks as the runbook page shows them, each with `credential_names` (one query for them all)
    and `warnings` (what the saved block can only fail with at run time), so the partial only formats."""
    blocks = list(blocks)
    names = credential_names_of(pk for block in blocks for pk in _credential_ids(block))
    for block in blocks:
        block.credential_names = ", ".join(names.get(pk, f"#{pk} (deleted)") for pk in _credential_ids(block))
        block.warnings = block_warnings(block=block)
    return blocks


def runbook_permissions(user: AbstractBaseUser, runbook: Runbook) -> dict:
    """What a runbook's tabs show this user: their role, and whether Edit and Share are offered."""
    role = runbook_role_of(user, runbook)
    return {
        "role": role,
        "can_edit": role in (Role.EDITOR, Role.OWNER),
        "can_share": role == Role.OWNER,
    }
