"""From a fraud score to a probability of fraud (概率校准), fitted on labelled attempts.

The engine's score (0-1000) ranks payments but is not a probability. `calibrate` fits an isotonic
(monotone non-decreasing) step function from score to the observed fraud share by pooling adjacent
violators, so a higher score never means a lower probability, and each step's probability is the
fraud share of the attempts it pools (with `prior` pseudo-attempts at the overall share, so a step of
a few attempts is not read as certainty; a shrunk step never falls below the one before).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from typing import Any

from puhui.risk.errors import MalformedCosts


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
        return [{"from_score": s, "probability": _decimal(p)} for s, p in zip(self.starts, self.probabilities)]


def _decimal(p: Fraction) -> str:
    return f"{Decimal(p.numerator) / Decimal(p.denominator):.8f}"


def calibration_from(data: Any) -> Calibration:
    """A calibration given as JSON: steps `[{"from_score": int, "probability": "0.0123"}]`, scores
    ascending and probabilities non-decreasing within 0-1."""
    steps = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise MalformedCosts("a calibration is a list of steps {from_score, probability}")
    try:
        starts = tuple(int(step["from_score"]) for step in steps)
        probabilities = tuple(Fraction(Decimal(str(step["probability"]))) for step in steps)
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise MalformedCosts(f"calibration: {error}") from error
    if list(starts) != sorted(set(starts)) or list(probabilities) != sorted(probabilities):
        raise MalformedCosts("calibration steps must rise in score and never fall in probability")
    if probabilities and not 0 <= probabilities[0] <= probabilities[-1] <= 1:
        raise MalformedCosts("calibration probabilities must be within 0-1")
    return Calibration(starts, probabilities)


def default_calibration() -> Calibration:
    """The shipped calibration (`risk/data/fraud_calibration.json`), fitted on a simulated market of
    another seed than any run it is used in (see its `fitted_on`)."""
    text = resources.files("puhui.risk").joinpath("data/fraud_calibration.json").read_text(encoding="utf-8")
    return calibration_from(json.loads(text))


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
