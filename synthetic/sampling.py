"""Choosing exactly k of n with weights, so prevalences hit their targets exactly
while still falling more often on children at higher risk."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def weighted_sample[T](
    items: Sequence[T], weights: Sequence[float], k: int, rng: random.Random
) -> list[T]:
    """Efraimidis-Spirakis sampling without replacement (keys u^(1/w))."""
    if k <= 0:
        return []
    keyed = []
    for index, weight in enumerate(weights):
        if weight > 0:
            keyed.append((math.log(rng.random() or 1e-300) / weight, index))
    chosen = heapq.nlargest(min(k, len(keyed)), keyed)
    return [items[i] for _, i in sorted(chosen, key=lambda kv: kv[1])]


def risk_weight(risk: float, strength: float) -> float:
    """How much more likely a higher-risk child is chosen: exp(strength * risk)."""
    return math.exp(strength * risk)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi = p2 - p1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))
