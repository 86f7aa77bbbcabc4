"""Driving the review pages with the Django test client: the URLs, the posts, the page text."""

import zoneinfo

from django.urls import reverse

YEAR = 2030
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def html(response):
    return response.content.decode()


def item(world, code):
    return world.scheme.items.get(code=code)


def points(world, scores):
    """Form fields of the panel and self-assessment pages: {"A-C02": 4} → {"points_<pk>": "4"}."""
    return {f"points_{item(world, code).pk}": str(value) for code, value in scores.items()}


def panel_url(world, period, member):
    return reverse("panel_member", args=[world.A1.pk, period.pk, member.pk])


def objection_url(member, **target):
    query = "&".join(f"{name}={obj.pk}" for name, obj in target.items())
    return f"{reverse('objection_new')}?member={member.pk}&{query}"


def branch_action(world, action):
    return reverse("branch_action", args=[world.A1.pk, action])


def determination_url(world):
    return reverse("determination", args=[world.A1.pk, world.year])


def proposed_grades(branch, year):
    """The determination form's grade selects as the page proposes them: {"grade-<member id>": grade}."""
    from reviews.selectors import determination_rows

    return {
        f"grade-{r['total'].member_id}": r["grade"]
        for r in determination_rows(branch=branch, year=year, posted={})
        if r["total"].scored
    }
