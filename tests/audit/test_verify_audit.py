"""`python manage.py verify_audit`: walks the hash chain and names the first broken row."""

from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audit_verify


def run_verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


@pytest.fixture
def chain(db):
    for index in range(5):
        audit_record(actor="system", action="test.event", object_type="thing", object_id=index, detail={"n": index})
    return list(AuditEvent.objects.order_by("seq"))


def test_an_intact_chain_is_ok_with_its_count(chain):
    assert run_verify().strip() == "OK: 5 events"


def test_an_empty_chain_is_ok(db):
    assert run_verify().strip() == "OK: 0 events"


def test_each_hash_chains_the_previous_one(chain):
    assert chain[0].prev_hash == "0" * 64
    for previous, event in pairwise(chain):
        assert event.prev_hash == previous.hash


def test_a_row_altered_with_raw_sql_is_named(chain):
    target = chain[2]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET action = %s WHERE id = %s", ["test.innocent", target.pk]
        )
    with pytest.raises(CommandError) as error:
        run_verify()
    assert f"#{target.seq} (id {target.pk})" in str(error.value)
    assert "altered" in str(error.value)
    assert "2 events before it are intact" in str(error.value)


def test_an_altered_detail_is_detected(chain):
    target = chain[3]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET detail = %s WHERE id = %s", ['{"n": 99}', target.pk])
    report = audit_verify()
    assert (report.ok, report.broken_seq) == (False, target.seq)


def test_a_rehashed_row_breaks_the_next_link(chain):
    # A forger who recomputes the altered row's own hash still breaks the next row's prev_hash.
    target = chain[1]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET hash = %s WHERE id = %s", ["f" * 64, target.pk])
    report = audit_verify()
    assert report.broken_seq == target.seq  # its content no longer matches the stored hash


def test_a_deleted_row_is_named(chain):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [chain[1].pk])
    with pytest.raises(CommandError) as error:
        run_verify()
    assert f"#{chain[2].seq}" in str(error.value)
    assert "missing" in str(error.value)


def test_a_removed_tail_is_reported(chain):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [chain[-1].pk])
    report = audit_verify()
    assert not report.ok
    assert report.broken_seq == 5
    assert "removed" in report.reason
