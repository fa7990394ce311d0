"""The risk of NEET indicator's configuration: weights, thresholds and bands as data.

The scoring itself is the saved query ``risk_of_neet`` (so the page and an analyst's
saved-query run give the same list); this module loads ``risk.yaml`` (or the file
named by ``JIGSAW_RISK_CONFIG``), checks it, hands it to the query as one parameter
and turns the factor keys the query returns into plain words.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from graph.yaml_model import load_yaml_model

RISK_FILE = Path(__file__).with_name("risk.yaml")
# The factors the query knows how to detect; the config weighs them.
FACTORS = (
    "attendance_below_85",
    "attendance_below_90",
    "permanent_exclusion",
    "suspension",
    "ehc_plan",
    "sen_support",
    "looked_after",
    "young_carer",
    "free_school_meals",
    "eal",
    "youth_justice",
    "alternative_provision",
    "teenage_parent",
    "moved_into_deprived_area",
    "school_change_mid_year",
)


class RiskConfigError(ValueError):
    """The risk configuration is unusable; the message says where and why."""


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: int = Field(ge=0, le=10)
    label: str


class Attendance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low: float = Field(gt=0, le=1)
    severe: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Attendance:
        if self.severe > self.low:
            raise ValueError("attendance.severe must not be above attendance.low")
        return self


class Bands(BaseModel):
    model_config = ConfigDict(extra="forbid")
    high: int = Field(ge=1)
    medium: int = Field(ge=1)
    low: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.high >= self.medium >= self.low:
            raise ValueError("bands must satisfy high >= medium >= low")
        return self


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year_groups: list[int] = Field(min_length=1)
    window_days: int = Field(ge=30, le=1100)
    youth_justice_window_days: int = Field(ge=30, le=3700)
    attendance: Attendance
    deprived_decile: int = Field(ge=1, le=10)
    bands: Bands
    factors: dict[str, Factor]

    @model_validator(mode="after")
    def _known_factors(self) -> RiskConfig:
        unknown = sorted(set(self.factors) - set(FACTORS))
        missing = sorted(set(FACTORS) - set(self.factors))
        if unknown:
            raise ValueError(f"unknown factor(s) {', '.join(unknown)}; known: {', '.join(FACTORS)}")
        if missing:
            raise ValueError(f"factor(s) {', '.join(missing)} have no weight (use weight: 0)")
        return self

    def as_parameter(self, rules: str = "") -> dict[str, Any]:
        """The map the saved query reads as ``$config``; ``rules`` names the detection
        rules in force (see ``detection_rules``)."""
        return {
            "rules": rules,
            **self._detection(),
            "high": self.bands.high,
            "medium": self.bands.medium,
            "low": self.bands.low,
            "weights": {name: f.weight for name, f in self.factors.items()},
        }

    def _detection(self) -> dict[str, Any]:
        """What decides which factors a pupil has (weights and bands only score them)."""
        return {
            "year_groups": self.year_groups,
            "window_days": self.window_days,
            "yj_window_days": self.youth_justice_window_days,
            "attendance_low": self.attendance.low,
            "attendance_severe": self.attendance.severe,
            "deprived_decile": self.deprived_decile,
        }

    def detection_rules(self, cypher: str) -> str:
        """A fingerprint of everything that decides which factors a pupil has.

        A load keeps each pupil's factors with this fingerprint, and the query uses them
        only while it still matches: change a threshold, a window or the query itself
        and the kept factors are ignored until the next load. Weights and bands are not
        in it, because they are applied when the list is read.
        """
        text = json.dumps(self._detection(), sort_keys=True) + "\n" + cypher
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def detection_parameter(self) -> dict[str, Any]:
        """``$config`` for working out every pupil's factors: each factor weighs 1 and no
        score is too low, so the query returns the whole cohort with all its factors."""
        return {
            **self.as_parameter(rules=""),
            "weights": dict.fromkeys(self.factors, 1),
            "high": 0,
            "medium": 0,
            "low": 0,
        }

    def explain(self, factors: list[str]) -> list[str]:
        """'Attendance below 85% (+2)' for each factor that counted."""
        return [f"{self.factors[f].label} (+{self.factors[f].weight})" for f in factors]


@cache
def load_risk_config(path: Path | None = None) -> RiskConfig:
    path = path or Path(os.environ.get("JIGSAW_RISK_CONFIG") or RISK_FILE)
    return load_yaml_model(path, RiskConfig, "risk configuration", RiskConfigError)
