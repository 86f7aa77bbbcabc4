"""Security headers on every kind of response, and templates that the Content-Security-Policy allows."""

import re
from pathlib import Path

import pytest
from django.http import JsonResponse
from django.urls import include, path, reverse

ROOT = Path(__file__).resolve().parents[2]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def json_view(request):
    return JsonResponse({"ok": True})


# The project answers no JSON of its own yet; a JSON view mounted beside its URLs shows the headers
# come from the middleware, whatever the view returns.
urlpatterns = [path("test-json/", json_view), path("", include("partyscore.urls"))]


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def assert_security_headers(response):
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.urls("tests.security.test_headers")
def test_every_kind_of_response_carries_the_headers(world, client):
    responses = {
        "login page": client.get(reverse("login")),
        "404": client.get("/no-such-page/"),
        "json": client.get("/test-json/"),
    }
    client.force_login(world.secretary)
    responses["page"] = client.get(reverse("member_list", args=[world.A1.pk]))
    responses["htmx partial"] = client.get(reverse("member_list", args=[world.A1.pk]), HTTP_HX_REQUEST="true")
    responses["xlsx"] = client.get(reverse("member_export", args=[world.A1.pk]))
    responses["403"] = client.get(reverse("member_list", args=[world.B1.pk]))
    responses["405"] = client.post(reverse("org_tree"))
    expected = {
        "login page": 200,
        "404": 404,
        "json": 200,
        "page": 200,
        "htmx partial": 200,
        "xlsx": 200,
        "403": 403,
        "405": 405,
    }
    assert {kind: r.status_code for kind, r in responses.items()} == expected
    assert responses["xlsx"]["Content-Type"] == XLSX_TYPE
    assert "<html" not in responses["htmx partial"].content.decode()
    for response in responses.values():
        assert_security_headers(response)


def templates():
    return sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")])


# What the policy refuses in markup: a <script> without src (json_script's application/json is made by
# a filter, never written in a template), an on…= handler, a javascript: URL, a style attribute or
# element (style-src 'self').
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "style element": re.compile(r"<style", re.I),
}


def test_no_template_holds_what_the_policy_refuses():
    found = [
        f"{file.relative_to(ROOT)}: {kind}: {match.group(0)[:60]}"
        for file in templates()
        for kind, pattern in FORBIDDEN.items()
        for match in pattern.finditer(file.read_text())
    ]
    assert len(templates()) > 40
    assert not found, "\n".join(found)


def test_the_scan_finds_what_it_looks_for():
    samples = [
        "<script>go()</script>",
        '<button type="button" onclick="go()">',
        '<a href="javascript:go()">',
        '<div class="x" style="width: 1px">',
        "<style>p {}</style>",
    ]
    for sample, (kind, pattern) in zip(samples, FORBIDDEN.items(), strict=True):
        assert pattern.search(sample), kind
    assert not any(p.search('<script src="/static/js/page.js" defer></script>') for p in FORBIDDEN.values())


def test_our_scripts_do_not_evaluate_strings():
    """script-src has no 'unsafe-eval': eval, new Function and string timers would be refused."""
    for file in (ROOT / "static" / "js").glob("*.js"):
        source = file.read_text()
        for banned in ("eval(", "new Function", 'setTimeout("', 'setInterval("', ".innerHTML"):
            assert banned not in source, f"{file.name}: {banned}"
