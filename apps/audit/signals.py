"""Sign-in events go to the audit trail. Receivers only call the service; never the password."""

from axes.signals import user_locked_out
from django.conf import settings
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


@receiver(user_locked_out, dispatch_uid="audit_sign_in_locked_out")
def record_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    # axes signals on every refused attempt while locked; the trail gets the lockout once, when the
    # failure that reaches the limit starts it (each refused attempt is already an auth.login_failed).
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is not None and failures != settings.AXES_FAILURE_LIMIT:
        return
    audit_record(
        actor=None,
        action="auth.locked_out",
        object_type="user",
        detail={
            "username": str(username or "")[:150],
            "ip": ip_address or _client_ip(request),
            "failures": failures,
            "cooloff_seconds": int(settings.AXES_COOLOFF_TIME.total_seconds()),
        },
    )
