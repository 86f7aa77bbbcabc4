"""Schemathesis fuzzes every operation of /api/schema/ through the WSGI app, with a secretary's token:
no answer is a 500, and every answer (status, content type, body, headers) is the one the schema
documents. A few examples per operation keep it quick.

The schema is loaded inside the test (the world and the token need the database), and each
operation's cases are drawn by Hypothesis from `operation.as_strategy()`."""

import pytest
import schemathesis
from django.db import connection  # noqa: F401 (read by the skipif condition)
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as default_checks
from schemathesis.specs.openapi import checks

from partyscore.wsgi import application
from scoring import services as scoring

CHECKS = [
    default_checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES = 25

# The schema is loaded through the WSGI app, outside the test's connection: on PostgreSQL that
# request sees no test data and answers 503 (left open; the routes' own tests run on both).
ON_SQLITE = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="WSGI loader outside the test transaction")


@ON_SQLITE
def test_the_api_answers_as_its_schema_says(a_year, api_token):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8  # the ledger's GET and POST, and one operation for each other route
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, checks=CHECKS)

        answers_as_documented()


@ON_SQLITE
def test_real_answers_match_the_schema(a_year, api_token):
    """The fuzzer's ids mostly miss (403, 404): each operation is also called with ids that exist, so
    the successful answers (pages of results, the card, a new line) are checked against the schema."""
    w = a_year
    item = w.scheme.items.get(code="A-C02")
    scoring.entry_record(actor=w.secretary, member=w.m[0], item=item, period=w.s1, points=1, reason="志愿服务")
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    branch, year = {"org_id": w.A1.pk}, {"year": w.year}
    calls = [
        ("GET", "/api/v1/me/card/", {}, year, None, 200),
        ("GET", "/api/v1/branches/{org_id}/members/", branch, {"page_size": 2}, None, 200),
        ("GET", "/api/v1/branches/{org_id}/ledger/", branch, year, None, 200),
        (
            "POST",
            "/api/v1/branches/{org_id}/ledger/",
            branch,
            {},
            {"member": w.m[3].pk, "item": item.pk, "period": w.s1.pk, "points": "1", "reason": "志愿服务"},
            201,
        ),
        ("GET", "/api/v1/branches/{org_id}/totals/", branch, year, None, 200),
        ("POST", "/api/v1/me/self-assessments/{period_id}/", {"period_id": w.s1.pk}, {}, {"claims": []}, 200),
        ("POST", "/api/v1/objections/", {}, {}, {"member": w.m[0].pk, "reason": "x"}, 400),
    ]
    for method, path, path_parameters, query, body, expected in calls:
        operation = schema[path][method]
        extra = {"body": body, "media_type": "application/json"} if body is not None else {}
        case = operation.Case(path_parameters=path_parameters, query=query, **extra)
        response = case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, checks=CHECKS)
        assert response.status_code == expected, (path, response.text)


def test_the_schema_lists_every_api_route(a_year, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert sorted(schema["paths"]) == [
        "/api/v1/branches/{org_id}/ledger/",
        "/api/v1/branches/{org_id}/members/",
        "/api/v1/branches/{org_id}/totals/",
        "/api/v1/me/card/",
        "/api/v1/me/self-assessments/{period_id}/",
        "/api/v1/meetings/{meeting_id}/sign-in/",
        "/api/v1/objections/",
    ]
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
