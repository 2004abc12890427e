"""Interval and test statistics for proportions (pure functions, no database)."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None


def rate(successes: int, trials: int) -> float | None:
    return successes / trials if trials > 0 else None


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """Wilson score interval: sane near 0 and 1 and for small samples, unlike the Wald one."""
    if trials <= 0:
        return Interval(None, None, None)
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class ZTest:
    z: float | None
    p_value: float


def two_proportion_z(
    control_successes: int, control_trials: int, successes: int, trials: int
) -> ZTest:
    """Two-sided pooled two-proportion z-test of `successes/trials` against the control."""
    if control_trials <= 0 or trials <= 0:
        return ZTest(None, 1.0)
    pooled = (control_successes + successes) / (control_trials + trials)
    variance = pooled * (1 - pooled) * (1 / control_trials + 1 / trials)
    if variance <= 0:
        # both groups all-success or all-failure: no evidence of any difference
        return ZTest(None, 1.0)
    z = (successes / trials - control_successes / control_trials) / math.sqrt(variance)
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


def newcombe(successes: int, trials: int, base_successes: int, base_trials: int) -> Interval:
    """Difference `successes/trials − base_successes/base_trials` with Newcombe's hybrid
    score interval (his method 10: from the two Wilson intervals; sane for small counts)."""
    first, base = wilson(successes, trials), wilson(base_successes, base_trials)
    if first.value is None or base.value is None:
        return Interval(None, None, None)
    assert first.low is not None and first.high is not None
    assert base.low is not None and base.high is not None
    difference = first.value - base.value
    low = difference - math.sqrt((first.value - first.low) ** 2 + (base.high - base.value) ** 2)
    high = difference + math.sqrt((first.high - first.value) ** 2 + (base.value - base.low) ** 2)
    return Interval(difference, max(-1.0, low), min(1.0, high))
