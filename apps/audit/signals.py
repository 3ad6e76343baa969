"""Sign-in events go to the audit trail. Receivers only call the service; never the password."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from apps.audit.services import audit_record


def _client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def record_sign_in(sender, request, user, **kwargs) -> None:
    audit_record(actor=user, action="auth.login", obj=user, detail={"ip": _client_ip(request)})


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def record_sign_in_failure(sender, credentials, request=None, **kwargs) -> None:
    # Only the attempted username: `credentials` may hold the password (Django masks it, but the
    # trail must not depend on that). The attempt has no actor: the name is unverified.
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")[:150]
    audit_record(
        actor=None,
        action="auth.login_failed",
        object_type="user",
        detail={"username": username, "ip": _client_ip(request)},
    )
