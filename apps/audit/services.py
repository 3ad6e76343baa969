import hashlib
import json
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ChainReport:
    count: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


GENESIS_HASH = "0" * 64


def audit_verify() -> ChainReport:
    """Walk the chain in seq order, recompute every hash and stop at the first row that disagrees.

    Catches an altered row (its hash no longer matches its content), a deleted row (a gap in seq
    or a prev_hash that does not follow) and a truncated tail (the chain head is further along).
    """
    expected_seq, previous_hash, count = 1, GENESIS_HASH, 0
    # iterator(): a long chain is streamed in chunks instead of loaded at once.
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        broken = None
        if event.seq != expected_seq:
            broken = f"expected #{expected_seq} here: rows are missing before it"
        elif event.prev_hash != previous_hash:
            broken = "its prev_hash does not match the hash of the row before it"
        else:
            canonical = audit_canonical(
                seq=event.seq, at=event.at, actor_name=event.actor_name, action=event.action,
                object_type=event.object_type, object_id=event.object_id, detail=event.detail,
            )  # fmt: skip
            if audit_hash(event.prev_hash, canonical) != event.hash:
                broken = "its content does not match its hash (the row was altered)"
        if broken:
            return ChainReport(count=count, broken_seq=event.seq, broken_id=event.pk, reason=broken)
        expected_seq, previous_hash, count = event.seq + 1, event.hash, count + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq, head.last_hash) != (count, previous_hash):
        return ChainReport(
            count=count,
            broken_seq=count + 1,
            reason=f"the chain head records #{head.last_seq}, but the rows stop at #{count}: rows were removed",
        )
    return ChainReport(count=count)
