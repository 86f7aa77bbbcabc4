"""Long sweeps split into parametrized parts, so that `pytest -n 2` spreads them over the workers.

`@parts(n)` runs a test n times, each with one `Part`; `part.of(cases)` is that part's share of the
cases, dealt round-robin (neighbouring cases, often alike in cost, go to different parts). The n shares
of the same list are all of its cases, each once, so the parts together check exactly what one test did.
"""

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Part:
    index: int
    count: int

    def of(self, cases):
        return list(cases)[self.index :: self.count]

    def __str__(self):
        return f"{self.index + 1}of{self.count}"


def parts(count):
    return pytest.mark.parametrize("part", [Part(index, count) for index in range(count)], ids=str)
