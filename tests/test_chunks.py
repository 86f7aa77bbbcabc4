"""The parts a long sweep is split into (tests/chunks.py) are, together, every case once."""

import pytest

from tests.chunks import Part


@pytest.mark.parametrize("count", [1, 2, 5, 12, 40])
def test_the_parts_deal_out_every_case_once(count):
    cases = [f"case {n}" for n in range(37)]
    shares = [Part(index, count).of(cases) for index in range(count)]
    assert sorted(case for share in shares for case in share) == sorted(cases)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
