"""Schemathesis fuzzes every operation of /api/schema/ through the WSGI app, with a secretary's token:
no answer is a 500, and every answer (status, content type, body, headers) is the one the schema
documents. A few examples per operation keep it quick.

The schema is loaded inside the test (the world and the token need the database), and each
operation's cases are drawn by Hypothesis from `operation.as_strategy()`."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as default_checks
from schemathesis.specs.openapi import checks

from partyscore.wsgi import application

CHECKS = [
    default_checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES = 25


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
