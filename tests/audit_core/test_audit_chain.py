from apps.audit.models import AuditEvent
from apps.audit.services import audit_canonical, audit_hash, audit_record


def test_each_event_hash_chains_to_the_previous_one(cast):
    first = audit_record(actor=cast.owner, action="test.one", object_type="thing", object_id=1)
    second = audit_record(actor=cast.owner, action="test.two", object_type="thing", object_id=1, detail={"a": 1})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    canonical = audit_canonical(
        seq=stored.seq, at=stored.at, actor_name=stored.actor_name, action=stored.action,
        object_type=stored.object_type, object_id=stored.object_id, detail=stored.detail,
    )  # fmt: skip
    assert audit_hash(stored.prev_hash, canonical) == stored.hash
