"""The college member list over a 10,000-member university, beside the raw SQL it needs.

Run: .venv/bin/python -m benchmarks.member_list [--members 10000]
"""

import argparse
import datetime

from benchmarks.common import Stamp, django_setup, median_seconds, write_section


def build(members_total):
    from members.models import Member, Organization, Role
    from members.services import organization_create, role_assign
    from tests.builders import make_user

    admin = make_user("bench-admin")
    admin.is_superuser = True
    admin.save()
    university = organization_create(actor=admin, name="基准大学党委", code="U", kind=Organization.Kind.COMMITTEE)
    colleges = [
        organization_create(actor=admin, name=f"学院{c}", code=f"C{c}", kind="general_branch", parent=university)
        for c in range(4)
    ]
    branches = [
        organization_create(actor=admin, name=f"支部{c}-{b}", code=f"C{c}-{b}", kind="branch", parent=college)
        for c, college in enumerate(colleges)
        for b in range(25)
    ]
    per_branch = members_total // len(branches)
    Member.objects.bulk_create(
        [
            Member(number=f"{branch.code}-{i:05d}", name=f"党员{i}", category="staff", branch=branch)
            for branch in branches
            for i in range(per_branch)
        ],
        batch_size=5000,
    )
    secretary = make_user("bench-gbsec")
    role_assign(
        actor=admin,
        user=secretary,
        organization=colleges[0],
        role=Role.GENERAL_BRANCH_SECRETARY,
        starts_on=datetime.date(2020, 1, 1),
    )
    return colleges[0], secretary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10000)
    args = parser.parse_args()
    stamp = Stamp()
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    college, secretary = build(args.members)
    client = Client()
    client.force_login(secretary)
    url = reverse("member_list", args=[college.pk])
    client.get(url)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        assert client.get(url).status_code == 200
    page = median_seconds(lambda: client.get(url))
    page_50 = median_seconds(lambda: client.get(url, {"page": 50}))

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM members_member m JOIN members_organization o ON o.id = m.branch_id "
                "WHERE o.path LIKE %s AND m.left_on IS NULL",
                [college.path + "%"],
            )
            cursor.execute(
                "SELECT m.*, o.name FROM members_member m JOIN members_organization o ON o.id = m.branch_id "
                "WHERE o.path LIKE %s AND m.left_on IS NULL ORDER BY o.path, m.number LIMIT 50",
                [college.path + "%"],
            )
            cursor.fetchall()

    baseline = median_seconds(raw)
    members_in_scope = args.members // 4
    write_section(
        "member_list",
        f"""
{stamp.line(connection)}
{args.members:,} members, college scope of {members_in_scope:,}; medians of 5.

| what | time |
|---|---|
| member list page 1 (50 rows), whole request through Django | {page * 1000:.1f} ms ({len(queries)} queries) |
| member list page 50 | {page_50 * 1000:.1f} ms |
| baseline: the count + page SQL alone, raw | {baseline * 1000:.1f} ms |
""",
    )
    print(f"page {page * 1000:.1f} ms, page 50 {page_50 * 1000:.1f} ms, raw {baseline * 1000:.1f} ms")


if __name__ == "__main__":
    main()
