"""Reads of a user's own account data."""

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.models import ApiToken


def api_tokens_of(user) -> QuerySet:
    """The user's tokens, active first, newest first within each group."""
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-pk")


def api_token_for_user(user, pk) -> ApiToken:
    """One of the user's own tokens; anyone else's (or a bad id) is a 404, never a 403."""
    try:
        return ApiToken.objects.get(pk=int(pk), user=user)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404("No such token.") from None
