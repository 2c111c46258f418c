"""From a fraud score to a probability of fraud (概率校准), fitted on labelled attempts.

The engine's score (0-1000) ranks payments but is not a probability. `calibrate` fits an isotonic
(monotone non-decreasing) step function from score to the observed fraud share by pooling adjacent
violators, so a higher score never means a lower probability, and each step's probability is the
fraud share of the attempts it pools (with `prior` pseudo-attempts at the overall share, so a step of
a few attempts is not read as certainty; a shrunk step never falls below the one before).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Calibration:
    """`probability(score)` = the step of the highest `starts` ≤ score (the first step below it)."""

    starts: tuple[int, ...]
    probabilities: tuple[Fraction, ...]

    def probability(self, score: int) -> Fraction:
        if not self.starts:
            return Fraction(0)
        return self.probabilities[max(0, bisect_right(self.starts, score) - 1)]

    def as_json(self) -> list[dict]:
        return [{"from_score": s, "probability": f"{float(p):.6f}"} for s, p in zip(self.starts, self.probabilities)]


def pool_adjacent_violators(values: list[Fraction], weights: list[int]) -> list[tuple[Fraction, int, int]]:
    """Isotonic regression of `values` (weighted): blocks (mean, first index, weight), means non-decreasing."""
    blocks: list[list] = []  # [sum of value × weight, weight, first index]
    for i, (v, w) in enumerate(zip(values, weights)):
        blocks.append([v * w, w, i])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] >= blocks[-1][0] * blocks[-2][1]:
            total, weight, _ = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += weight
    return [(total / weight, first, weight) for total, weight, first in blocks]


def calibrate(samples: Iterable[tuple[int, bool]], prior: int = 0) -> Calibration:
    """Fit score → P(fraud) on (score, was fraud) pairs; `prior` pseudo-attempts per step at the base rate."""
    counts: dict[int, list[int]] = {}
    for points, fraud in samples:
        seen = counts.setdefault(points, [0, 0])
        seen[0] += 1
        seen[1] += int(fraud)
    if not counts:
        return Calibration((), ())
    scores = sorted(counts)
    total = sum(counts[s][0] for s in scores)
    base = Fraction(sum(counts[s][1] for s in scores), total)
    blocks = pool_adjacent_violators(
        [Fraction(counts[s][1], counts[s][0]) for s in scores], [counts[s][0] for s in scores]
    )
    starts = tuple(scores[first] for _, first, _ in blocks)
    shrunk = [(mean * weight + base * prior) / (weight + prior) for mean, _, weight in blocks]
    return Calibration(starts, tuple(max(shrunk[: i + 1]) for i in range(len(shrunk))))
