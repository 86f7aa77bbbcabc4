"""The chains' advisory locks on the real PostgreSQL: one per organization, so writers in different
branches do not wait for each other, while writers on one chain follow one another and the chain
stays whole. Each thread has its own connection and its own transaction."""

import threading

import pytest
from django.db import connection, connections, transaction

from partyscore.core.audit import audit_record
from partyscore.core.models import AuditEvent
from scoring import services as scoring
from scoring.chain_verify import verify
from scoring.models import LedgerEntry, RuleItem
from tests.test_authorization_matrix import add_scoring

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory locks"),
    pytest.mark.usefixtures("append_only_flush"),
]


def in_thread(call):
    """Start `call` in a thread of its own (its own connection); returns (thread, result list)."""
    result = []

    def run():
        try:
            result.append(call())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.django_db(transaction=True)
def test_a_branch_holding_its_chain_lets_another_branch_write_and_makes_its_own_wait(world):
    holding, release = threading.Event(), threading.Event()

    def hold_a1():
        with transaction.atomic():
            audit_record(actor=world.admin, action="board.visibility", target=world.A1, organization=world.A1)
            holding.set()
            release.wait(timeout=30)
        return "held"

    holder, _held = in_thread(hold_a1)
    assert holding.wait(timeout=30)
    other, other_done = in_thread(
        lambda: audit_record(actor=world.admin, action="board.visibility", target=world.A2, organization=world.A2)
    )
    other.join(timeout=10)
    assert other_done, "a write in another branch waited for A1's lock"
    same, same_done = in_thread(
        lambda: audit_record(actor=world.admin, action="board.visibility", target=world.A1, organization=world.A1)
    )
    same.join(timeout=1)
    assert same.is_alive() and not same_done  # waits for A1's lock
    release.set()
    for thread in (holder, same):
        thread.join(timeout=30)
    assert same_done
    a1 = list(AuditEvent.objects.filter(chain=world.A1.pk).order_by("id").values_list("prev_hash", "hash"))
    assert a1[-1][0] == a1[-2][1]  # the waiting write linked on from the held one
    assert verify().intact


@pytest.mark.django_db(transaction=True)
def test_many_writers_at_once_in_two_branches_keep_both_chains_whole(world):
    _reference, schemes, _entries, period = add_scoring(world)
    barrier = threading.Barrier(8)

    def record(member, scheme, n):
        item = scheme.items.filter(kind=RuleItem.Kind.BONUS, evidence_required=False).get(code="A-C02")
        barrier.wait(timeout=30)
        return scoring.entry_record(
            actor=world.admin, member=member, item=item, period=period, points=1, reason=f"同时记分{n}"
        ).pk

    calls = [(world.a1_members[n % 3], schemes["A1"], n) for n in range(4)]
    calls += [(world.a2_members[n % 3], schemes["A2"], n) for n in range(4)]
    threads = [in_thread(lambda args=args: record(*args)) for args in calls]
    for thread, _result in threads:
        thread.join(timeout=60)
    assert all(result for _thread, result in threads), "a writer failed"
    for branch in (world.A1, world.A2):
        written = LedgerEntry.objects.filter(chain=branch.pk, reason__startswith="同时记分")
        assert written.count() == 4
    assert verify().intact
