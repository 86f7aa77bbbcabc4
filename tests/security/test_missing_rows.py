"""Rows a page reads may be missing, swept automatically: never a 500.

Real data lacks things: a member imported mid-year has no year total, a member may have no
account, a branch no mass results yet, a year no review settings. For every model of ours whose rows
can be removed (not append-only, not protected by another row), every GET page of the authorization
matrix is asked, as the first role allowed there, with all that model's rows gone (and what goes with
them); and likewise with each nullable reference set to NULL on every row. Each case runs inside a
savepoint rolled back afterwards, so every case starts from the same whole world; the cases are dealt
out to parts (tests/chunks.py) that run side by side.
"""

import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.test import Client

from tests.chunks import parts
from tests.matrix.world import build_matrix_world
from tests.security.test_hostile_input import allowed_get
from tests.test_authorization_matrix import MATRIX

OUR_APPS = {"members", "scoring", "reviews", "partyscore"}


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS and not m._meta.proxy]


def nullable_references():
    return [
        (model, field.name)
        for model in our_models()
        for field in model._meta.get_fields()
        if isinstance(field, (models.ForeignKey, models.OneToOneField)) and field.null and field.concrete
    ]


class Skip(Exception):
    """The database refused to remove these rows (append-only, or protected): not a case."""


def sweep(world, client, pages):
    """The pages that answer 500, as (name, role, status)."""
    failures = []
    for name in pages:
        role, url = allowed_get(world, name)
        if world.users[role] is None:
            client.logout()
        else:
            client.force_login(world.users[role])
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"{name} as {role}: {response.status_code}")
    return failures


def in_case(remove, world, client, pages):
    """Run `remove`, sweep, and roll everything back. None if the database refused the removal."""
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    if not remove():
                        raise Skip
            except (ProtectedError, RestrictedError, DatabaseError, Skip):
                return None
            failures = sweep(world, client, pages)
            transaction.set_rollback(True)
            return failures
    except DatabaseError as error:  # a page broke the transaction: a failure of its own
        return [f"(database error after a page) {error}"]


@pytest.fixture
def world(db):
    return build_matrix_world()


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def pages(world):
    return [name for name in MATRIX if allowed_get(world, name)]


# Each sweep runs in parts (each with its own world) that the workers share out.
def test_no_page_answers_500_in_the_whole_world(world, client):
    assert sweep(world, client, pages(world)) == []


@parts(6)
def test_no_page_answers_500_when_a_models_rows_are_missing(part, world, client):
    names = pages(world)
    failures, cases = [], []
    share = part.of(our_models())
    for model in share:
        if not model.objects.exists():
            continue

        def remove(model=model):
            model._base_manager.all().delete()
            return True

        found = in_case(remove, world, client, names)
        if found is not None:
            cases.append(model._meta.label)
            failures += [f"without {model._meta.label}: {f}" for f in found]
    expected = {"scoring.MemberYearTotal", "scoring.MemberOutcome", "members.RoleAssignment"}
    assert expected & {model._meta.label for model in share} <= set(cases), cases
    assert not failures, "\n".join(failures)


@parts(2)
def test_no_page_answers_500_when_a_reference_is_empty(part, world, client):
    names = pages(world)
    failures, cases = [], []
    share = part.of(nullable_references())
    for model, field in share:
        if not model._base_manager.filter(**{f"{field}__isnull": False}).exists():
            continue

        def remove(model=model, field=field):
            return model._base_manager.update(**{field: None})

        found = in_case(remove, world, client, names)
        if found is not None:
            cases.append(f"{model._meta.label}.{field}")
            failures += [f"with {model._meta.label}.{field} empty: {f}" for f in found]
    expected = {"members.Member.user"}
    assert expected & {f"{model._meta.label}.{field}" for model, field in share} <= set(cases), cases
    assert not failures, "\n".join(failures)


def test_the_expected_cases_exist():
    """The cases the parts insist on are among those dealt out (a renamed model would drop them silently)."""
    labels = {model._meta.label for model in our_models()}
    assert {"scoring.MemberYearTotal", "scoring.MemberOutcome", "members.RoleAssignment"} <= labels
    assert ("members.Member", "user") in {(model._meta.label, field) for model, field in nullable_references()}
