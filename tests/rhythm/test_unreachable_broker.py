"""Redis unreachable: a page that enqueues work still answers at once, and the work is done later
from the database (the nightly recalculation)."""

import time

from django.urls import reverse

from reviews.tasks import nightly_recalculation_task
from scoring import services as scoring
from scoring.models import MemberYearTotal, Scheme
from tests.test_authorization_matrix import add_scoring


def test_approving_a_scheme_with_redis_down_answers_within_a_second(
    world, login, broker_down, caplog, django_capture_on_commit_callbacks
):
    _reference, schemes, _entries, period = add_scoring(world)
    draft = scoring.scheme_new_version(actor=world.secretary, scheme=schemes["A1"])
    scoring.scheme_submit(actor=world.secretary, scheme=draft)
    MemberYearTotal.objects.filter(branch=world.A1).delete()
    client = login(world.gb_secretary)
    started = time.monotonic()
    with caplog.at_level("ERROR", logger="partyscore.core.tasks"), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scheme_transition", args=[draft.pk]), {"action": "approve"})
    elapsed = time.monotonic() - started
    assert response.status_code == 302 and elapsed < 1.0, elapsed
    assert Scheme.objects.get(pk=draft.pk).status == "approved"
    assert "could not enqueue scoring.tasks.recalculate_branches_task" in caplog.text
    assert not MemberYearTotal.objects.filter(branch=world.A1).exists()  # the work did not happen yet
    broker_down()  # Redis is back
    with django_capture_on_commit_callbacks(execute=True):  # the nightly run catches up from the database
        nightly_recalculation_task.delay()
    assert MemberYearTotal.objects.filter(branch=world.A1, year=period.cycle.year).count() == len(world.a1_members)
