"""The API's worlds: Policy A in A1 on a frozen clock (tests/reviews/conftest.py), and clients that
call the API with a personal token, as the mini-program does."""

import pytest

from members.services import api_token_create
from tests.reviews.conftest import _uploads_in_tmp, a_year, clock  # noqa: F401 (fixtures used here)


class TokenClient:
    """Django's test client with `Authorization: Bearer …` and JSON bodies."""

    def __init__(self, client, raw):
        self.client, self.raw = client, raw

    def _headers(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw}"}

    def get(self, url, data=None):
        return self.client.get(url, data or {}, **self._headers())

    def post(self, url, data=None):
        return self.client.post(url, data or {}, content_type="application/json", **self._headers())


@pytest.fixture
def api_as(client):
    """`api_as(user)`: a client carrying a new token of that user (no session)."""

    def _as(user):
        client.logout()
        _token, raw = api_token_create(user=user, name="测试")
        return TokenClient(client, raw)

    return _as


@pytest.fixture
def api_token(a_year):  # noqa: F811 (the fixture imported above)
    """A token of A1's secretary, who records, reviews and is a member too."""
    return api_token_create(user=a_year.secretary, name="模糊测试")[1]
