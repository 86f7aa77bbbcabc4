"""Mass evaluation stays anonymous against arithmetic (issue 14).

Two attacks recovered one representative's every rating from the results page: (a) read the exact
averages at N answers, wait for the N+1st, subtract; (b) the secretary opens accounts, appoints
themself and those accounts as mass representatives, submits known answers and solves for the one
real answer. Both are run here and must fail.
"""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from members import services as member_services
from members.models import Member, Role
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import Notification
from reviews import services
from reviews.models import MassEvaluation, MassResult
from scoring.models import Deadline
from tests.builders import make_user

from .conftest import give
from .pages import YEAR, html

PUPPET_PASSWORD = "Puppet@Pass-2026"


def answer(w, rep, by_member, panel=3, branch=3, comments=""):
    return services.mass_evaluation_submit(
        actor=rep,
        branch=w.A1,
        year=w.year,
        panel_rating=panel,
        branch_rating=branch,
        comments=comments,
        ratings={m.pk: (r, "") for m, r in zip(w.m, by_member, strict=True)},
    )


def figures(page):
    """Everything on the results page that carries a rating: the summary line and the table."""
    table = re.search(r'<table class="table table-sm mass-summary">.*?</table>', page, re.S)
    line = re.search(r"对考评小组评分的平均评价.*?）", page, re.S)
    return (table.group(0) if table else "", line.group(0) if line else "")


def test_differencing_between_n_and_n_plus_one_answers_learns_nothing(a_year, clock, login):
    w = a_year
    url = reverse("mass_results", args=[w.A1.pk])
    clock(12, 1)
    secretary = login(w.secretary)
    for rep in w.reps:  # five answers: the minimum
        answer(w, rep, (4, 4, 3, 3, 2), comments=f"{rep.username}：意见")
    at_n = html(secretary.get(url))
    late_rep = give(w, make_user("rep6", "群众代表6"), Role.MASS_REPRESENTATIVE)
    answer(w, late_rep, (1, 1, 1, 1, 1), panel=1, branch=1, comments="最后一份")
    at_n_plus_one = html(secretary.get(url))
    # While the window is open no rating is shown at all: there is nothing to subtract.
    assert figures(at_n) == figures(at_n_plus_one) == ("", "")
    assert "已有 5 位" in at_n and "已有 6 位" in at_n_plus_one and "最后一份" not in at_n_plus_one

    clock(12, 11)  # closed on 10 December: frozen once, for everyone
    frozen = html(login(w.secretary).get(url))
    assert figures(frozen)[0] and "3.50" in figures(frozen)[0]  # M0 (4·5 + 1) / 6
    # The college moves the deadline after the freeze: one more answer is still refused, and the
    # figures every viewer gets stay those of the freeze.
    Deadline.objects.filter(code="A-MASSES").update(due_on=datetime.date(YEAR, 12, 31))
    with pytest.raises(ApplicationError, match="群众评议已于"):
        answer(w, give(w, make_user("rep7", "群众代表7"), Role.MASS_REPRESENTATIVE), (4, 4, 4, 4, 4))
    MassEvaluation.objects.filter(representative=late_rep).update(panel_rating=4)  # even a rewrite of a row
    for viewer in (w.secretary, w.committee, w.gb_secretary):
        assert figures(html(login(viewer).get(url))) == figures(frozen)
    assert MassResult.objects.get(branch=w.A1, year=YEAR).answers == 6
    # The comments carry no order of answering and no date: sorted by their text.
    comments = re.findall(r"<li>([^<]*)</li>", frozen.split("mass-comments", 1)[1].split("</ul>", 1)[0])
    assert comments == sorted(comments) and len(comments) == 6


def test_a_secretary_with_puppet_accounts_cannot_solve_for_the_real_answer(a_year, clock, login):
    w = a_year
    clock(3, 1)
    roles_url = reverse("org_roles", args=[w.A1.pk])
    appoint = {"action": "appoint", "role": Role.MASS_REPRESENTATIVE, "starts_on": f"{YEAR}-03-01"}
    # The secretary opens accounts for made-up members of their own branch…
    puppets = [
        member_services.member_create(
            actor=w.secretary,
            member=Member(number=f"P{i}", name=f"傀儡{i}", category=Member.Category.STAFF, branch=w.A1),
            account_password=PUPPET_PASSWORD,
        ).user
        for i in range(4)
    ]
    # …and tries to make themself and them mass representatives: every appointment is refused.
    page = login(w.secretary)
    refused = page.post(roles_url, {**appoint, "username": w.secretary.username})
    assert refused.status_code == 400 and "不能同时担任群众代表" in html(refused)
    for puppet in puppets:
        refused = page.post(roles_url, {**appoint, "username": puppet.username})
        assert refused.status_code == 400 and "是本支部党员，不能担任本支部的群众代表" in html(refused)
    for user in (w.committee, w.panel):  # the committee and the panel neither
        with pytest.raises(ApplicationError, match="不能同时担任"):
            member_services.role_assign(
                actor=w.secretary,
                user=user,
                organization=w.A1,
                role=Role.MASS_REPRESENTATIVE,
                starts_on=datetime.date(YEAR, 3, 1),
            )
    assert not any(
        u.role_assignments.filter(role=Role.MASS_REPRESENTATIVE).exists()
        for u in [w.secretary, w.committee, w.panel, *puppets]
    )

    # So the secretary cannot submit a single known answer to subtract.
    clock(12, 1)
    for user in [w.secretary, *puppets]:
        with pytest.raises(PermissionDenied):
            answer(w, user, (4, 4, 4, 4, 4))
    real = (1, 2, 3, 4, 1)
    answer(w, w.reps[0], real, comments="真实意见")
    clock(12, 11)
    page = html(login(w.secretary).get(reverse("mass_results", args=[w.A1.pk])))
    # One real answer among no known ones is below the minimum: nothing per member, no comment.
    assert "共收到 1 份答卷，少于党委规定的 5 份" in page and figures(page) == ("", "") and "真实意见" not in page


def test_mass_representative_and_branch_offices_exclude_each_other_both_ways(a_year, clock):
    w = a_year
    clock(3, 1)
    start = datetime.date(YEAR, 3, 1)
    for role in (Role.BRANCH_COMMITTEE, Role.PANEL_MEMBER):  # a representative is made a branch officer
        with pytest.raises(ApplicationError, match="已是“甲一支部”的群众代表"):
            member_services.role_assign(
                actor=w.secretary, user=w.mass_rep, organization=w.A1, role=role, starts_on=start
            )
    with pytest.raises(ApplicationError, match="已是“甲一支部”的群众代表"):
        member_services.role_assign(
            actor=w.gb_secretary, user=w.mass_rep, organization=w.A1, role=Role.BRANCH_SECRETARY, starts_on=start
        )
    # In another branch the same person may hold either.
    member_services.role_assign(
        actor=w.admin, user=w.mass_rep, organization=w.A2, role=Role.PANEL_MEMBER, starts_on=start
    )
    member_services.role_assign(
        actor=w.admin, user=w.panel, organization=w.A2, role=Role.MASS_REPRESENTATIVE, starts_on=start
    )


def test_the_general_branch_hears_of_every_mass_representative_appointed(a_year, clock, login):
    w = a_year
    clock(3, 1)
    outsider = make_user("outsider", "校外群众")
    member_services.role_assign(
        actor=w.secretary,
        user=outsider,
        organization=w.A1,
        role=Role.MASS_REPRESENTATIVE,
        starts_on=datetime.date(YEAR, 3, 1),
    )
    notice = Notification.objects.get(user=w.gb_secretary, message__contains="校外群众")
    assert "甲一支部" in notice.message and notice.url == reverse("org_roles", args=[w.A.pk])
    page = html(login(w.gb_secretary).get(reverse("org_roles", args=[w.A.pk])))
    listed = page.split("mass-representatives-below", 1)[1].split("</ul>", 1)[0]
    assert "校外群众" in listed and "甲一支部" in listed and w.secretary.get_full_name() in listed
    assert not Notification.objects.filter(user=w.gb_secretary, message__contains="甲二支部").exists()


@pytest.mark.parametrize("extra", [0, 4])
def test_the_results_page_query_count_does_not_grow_with_answers(
    a_year, clock, login, django_assert_num_queries, extra
):
    w = a_year
    clock(12, 1)
    reps = w.reps + [give(w, make_user(f"more{i}"), Role.MASS_REPRESENTATIVE) for i in range(extra)]
    for rep in reps:
        answer(w, rep, (4, 3, 2, 1, 4), comments=f"{rep.username} 的意见")
    clock(12, 11)
    url = reverse("mass_results", args=[w.A1.pk])
    for viewer, queries in ((w.secretary, RESULTS_QUERIES), (w.org_department, RESULTS_QUERIES_AUDIT)):
        client = login(viewer)
        client.get(url)  # the first reading freezes the results
        with django_assert_num_queries(queries):
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("branches", [1, 3])
def test_the_college_list_of_mass_representatives_query_count_is_flat(
    a_year, clock, login, django_assert_num_queries, branches
):
    w = a_year
    clock(3, 1)
    for i in range(branches * 3):
        member_services.role_assign(
            actor=w.admin,
            user=make_user(f"q{i}"),
            organization=(w.A1, w.A2)[i % 2],
            role=Role.MASS_REPRESENTATIVE,
            starts_on=datetime.date(YEAR, 3, 1),
        )
    client = login(w.gb_secretary)
    url = reverse("org_roles", args=[w.A.pk])
    client.get(url)
    with django_assert_num_queries(ROLES_QUERIES):
        page = html(client.get(url))
    assert page.count("q0") >= 1 and f"q{branches * 3 - 1}" in page


RESULTS_QUERIES = 13
RESULTS_QUERIES_AUDIT = 16
ROLES_QUERIES = 9  # one more than a branch's roles page: the list of the branches' representatives


def test_the_determination_page_shows_the_frozen_mass_results(a_year, clock, login):
    w = a_year
    url = reverse("determination", args=[w.A1.pk, w.year])
    clock(12, 1)
    for rep in w.reps:
        answer(w, rep, (4, 4, 3, 3, 2), comments=f"{rep.username}：意见")
    during = html(login(w.secretary).get(url))
    assert "群众评议结果" in during and "已有 5 位群众代表提交" in during and figures(during) == ("", "")
    clock(12, 15)
    after = html(login(w.secretary).get(url))
    assert (
        "determination-mass" in after
        and figures(after)[0] == figures(html(login(w.secretary).get(reverse("mass_results", args=[w.A1.pk]))))[0]
    )
    assert "逐份答卷" not in html(login(w.org_department).get(url))  # each answer stays on the results page
