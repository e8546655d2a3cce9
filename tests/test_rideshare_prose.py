"""The ride-sharing pages type no number into their prose (issue 10, point 13).

The book-wide scan (``tests/test_prose_numbers.py``) lists practices as pending until their
owner converts them; this test holds the ride-sharing notebooks to the rule now, with the same
scanner and the same allow-list (``tests/prose_allowlist/rideshare.txt``).
"""

from pathlib import Path

import pytest
from test_prose_numbers import typed_numbers

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parents[1] / "notebooks" / "rideshare").glob("0*.ipynb")
)


def test_the_practice_has_its_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_number_is_typed_into_the_rideshare_prose(path):
    left = typed_numbers(path)
    assert not left, "\n".join(f"{number!r} in ...{snippet}..." for number, snippet in left)
