"""One hyperparameter: its role, scale, range or values, condition and unit mapping.

The values helpers here (plain Python scalars, equality that keeps ``True`` apart from
``1``) are shared by the search space and its serialization and keras-tuner modules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.rules import fmt
from ..core.validation import is_number

__all__ = ["Hyperparameter", "ROLES", "SCALES", "RANGE_SCALES", "VALUE_SCALES"]

ROLES = ("scientific", "nuisance", "fixed")
SCALES = ("linear", "log", "integer", "discrete", "categorical")
RANGE_SCALES = ("linear", "log", "integer")
VALUE_SCALES = ("discrete", "categorical")


def _native(v):
    """Plain Python scalar (JSON and keras-tuner want no numpy types)."""
    return v.item() if isinstance(v, np.generic) else v


def _same(a, b) -> bool:
    """Equality that keeps bools apart from numbers (``True == 1`` in Python)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b



@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of a search space, already validated.

    ``low``/``high`` are set for linear, log and integer scales; ``values`` for
    discrete and categorical ones (a fixed hyperparameter has one value).
    """

    name: str
    role: str
    scale: str
    low: float | int | None = None
    high: float | int | None = None
    values: tuple | None = None
    parent: str | None = None
    parent_values: tuple | None = None

    @property
    def is_fixed(self) -> bool:
        return self.role == "fixed"

    @property
    def value(self):
        """The value of a fixed hyperparameter."""
        if not self.is_fixed:
            raise ValueError(f"hyperparameter '{self.name}' is {self.role}, not fixed")
        return self.values[0]

    def from_unit(self, u: float):
        """The value at ``u`` in [0, 1] under the playbook mapping for this scale."""
        if self.is_fixed:
            return self.value
        u = min(max(float(u), 0.0), 1.0)
        if self.scale in ("linear", "log"):
            if self.scale == "linear":
                value = self.low + u * (self.high - self.low)
            else:
                value = self.low * math.exp(u * math.log(self.high / self.low))
            return float(min(max(value, self.low), self.high))
        if self.scale == "integer":
            n = self.high - self.low + 1
            return int(self.low + min(int(math.floor(u * n)), n - 1))
        n = len(self.values)
        return self.values[min(int(math.floor(u * n)), n - 1)]

    def to_unit(self, value) -> float:
        """Inverse of :meth:`from_unit`: the centre of the cell that maps to ``value``."""
        if self.is_fixed:
            return 0.5
        if self.scale == "linear":
            return (float(value) - self.low) / (self.high - self.low)
        if self.scale == "log":
            return math.log(float(value) / self.low) / math.log(self.high / self.low)
        if self.scale == "integer":
            return (int(value) - self.low + 0.5) / (self.high - self.low + 1)
        return (self.values.index(value) + 0.5) / len(self.values)

    def contains(self, value) -> bool:
        """Whether ``value`` is a value this hyperparameter can take."""
        if self.scale in VALUE_SCALES or self.is_fixed:
            return any(_same(value, v) for v in self.values)
        if not is_number(value):
            return False
        if self.scale == "integer" and int(value) != value:
            return False
        return self.low <= value <= self.high

    def describe(self) -> str:
        """Range or values as one short string, for tables."""
        if self.is_fixed:
            return f"= {fmt(self.value)}"
        if self.scale in RANGE_SCALES:
            return f"[{fmt(self.low)}, {fmt(self.high)}]"
        return "{" + ", ".join(fmt(v) for v in self.values) + "}"

    def condition(self) -> str:
        if self.parent is None:
            return ""
        if len(self.parent_values) == 1:
            return f"{self.parent} = {fmt(self.parent_values[0])}"
        return f"{self.parent} in {{" + ", ".join(fmt(v) for v in self.parent_values) + "}"

    def to_dict(self) -> dict:
        """A plain, JSON/YAML-ready entry (see :meth:`SearchSpace.from_dict`)."""
        d = {"name": self.name, "role": self.role}
        if self.is_fixed:
            d["value"] = self.value
        else:
            d["scale"] = self.scale
            if self.scale in RANGE_SCALES:
                d["low"], d["high"] = self.low, self.high
            else:
                d["values"] = list(self.values)
        if self.parent is not None:
            d["parent"] = self.parent
            d["parent_values"] = list(self.parent_values)
        return d

