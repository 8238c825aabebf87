from __future__ import annotations

import random

import pytest

from domain.assignment import NoCandidate, pick_staff


def test_least_loaded_wins() -> None:
    assert pick_staff(["anna", "marc", "pere"], {"anna": 3, "marc": 1, "pere": 2}) == "marc"


def test_missing_load_counts_as_zero() -> None:
    assert pick_staff(["anna", "marc"], {"anna": 1}) == "marc"


def test_ties_go_to_the_smallest_id_whatever_the_order() -> None:
    load = {"anna": 2, "marc": 1, "laia": 1}
    assert pick_staff(["marc", "laia", "anna"], load) == "laia"
    assert pick_staff(["laia", "marc", "anna"], load) == "laia"


def test_load_of_people_who_are_not_candidates_is_ignored() -> None:
    assert pick_staff(["marc", "pere"], {"anna": 0, "marc": 4, "pere": 5}) == "marc"


def test_random_tie_break_only_among_the_least_loaded() -> None:
    load = {"a": 1, "b": 1, "c": 1, "d": 7}
    picks = {pick_staff(["a", "b", "c", "d"], load, random.Random(seed)) for seed in range(60)}
    assert picks == {"a", "b", "c"}


def test_no_candidates() -> None:
    with pytest.raises(NoCandidate):
        pick_staff([], {"a": 0})
