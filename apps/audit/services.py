import hashlib
import json

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditChainHead, AuditEvent


def audit_canonical(*, seq: int, at, actor_name: str, action: str, object_type: str, object_id: str, detail) -> str:
    return json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor_name,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "detail": detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def audit_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def audit_record(
    *, actor, action: str, obj=None, object_type: str = "", object_id="", detail: dict | None = None
) -> AuditEvent:
    """Append one event to the chain. Never log secrets in `detail`."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    actor_name = actor_user.get_username() if actor_user else (actor if isinstance(actor, str) else "")
    detail = json.loads(json.dumps(detail or {}, default=str))
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        seq = head.last_seq + 1
        at = timezone.now()
        canonical = audit_canonical(
            seq=seq, at=at, actor_name=actor_name, action=action, object_type=object_type,
            object_id=str(object_id), detail=detail,
        )  # fmt: skip
        digest = audit_hash(head.last_hash, canonical)
        event = AuditEvent.objects.create(
            seq=seq, at=at, actor=actor_user, actor_name=actor_name, action=action, object_type=object_type,
            object_id=str(object_id), detail=detail, prev_hash=head.last_hash, hash=digest,
        )  # fmt: skip
        head.last_seq, head.last_hash = seq, digest
        head.save(update_fields=["last_seq", "last_hash"])
    return event
