"""Who takes a new appointment: the least loaded eligible clerk."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence


class NoCandidate(ValueError):
    """Nobody can take the appointment."""


def pick_staff(
    candidates: Sequence[str],
    load: Mapping[str, int],
    rng: random.Random | None = None,
) -> str:
    """The candidate with the smallest `load` (missing = 0).

    Ties go to the smallest id (deterministic, easy to test) unless `rng` is given, in
    which case one of the tied candidates is chosen with it (fairer over time).
    Raises `NoCandidate` when `candidates` is empty.
    """
    unique = sorted(set(candidates))
    if not unique:
        raise NoCandidate("no staff member is free for this slot")
    lowest = min(load.get(c, 0) for c in unique)
    tied = [c for c in unique if load.get(c, 0) == lowest]
    if rng is not None and len(tied) > 1:
        return rng.choice(tied)
    return tied[0]
