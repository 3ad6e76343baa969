"""Reads of execution environments and the one access helper: any signed-in user sees and picks
one; staff manage them."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from apps.environments.models import ExecutionEnvironment


def environment_manage_check(user) -> None:
    """403 unless the user is staff: only staff create, change, rebuild and delete environments."""
    if not (user.is_authenticated and user.is_staff):
        raise PermissionDenied("Only staff manage execution environments.")


def environments_visible_to(user) -> QuerySet:
    """Every environment: any signed-in user may see and pick one."""
    if not user.is_authenticated:
        return ExecutionEnvironment.objects.none()
    return ExecutionEnvironment.objects.order_by("-is_default", "name")


def environment_for_user(user, pk, *, manage: bool = False) -> ExecutionEnvironment:
    """404 for anonymous users and unknown ids; 403 when `manage` and the user is not staff."""
    if not user.is_authenticated:
        raise Http404("No such environment.")
    try:
        environment = ExecutionEnvironment.objects.get(pk=pk)
    except (ExecutionEnvironment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such environment.") from None
    if manage:
        environment_manage_check(user)
    return environment


def environment_users(environment: ExecutionEnvironment) -> list:
    """Runbooks (archived ones too) whose environment this is: they block its deletion."""
    return list(environment.runbooks.order_by("title").only("pk", "title", "archived_at"))
