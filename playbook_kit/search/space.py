"""Search spaces with playbook roles, scales and conditions.

A :class:`SearchSpace` is the declarative half of a study: every hyperparameter has a
*role* (scientific, nuisance or fixed), a *scale* (linear, log, integer, discrete,
categorical) and a range or a list of values. A conditional hyperparameter exists only
when its parent takes one of ``parent_values`` (Adam's ``beta1`` only under
``optimizer=adam``); the "learning rate" of each optimizer may be a distinct
hyperparameter with its own range. Names are unique in a space and a parent is declared
before its children.

The unit-cube mapping (:meth:`SearchSpace.config_from_unit`) is the playbook's: one
dimension per varied (non-fixed) hyperparameter in declaration order; linear
``lo + u*(hi-lo)``, log ``lo*exp(u*ln(hi/lo))``, integer ``floor`` over ``[lo, hi]``
inclusive, discrete and categorical ``values[floor(u*len(values))]``. A conditional
child keeps its own dimension, read only when it is active, so no parent value is
favoured.
"""
from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd


__all__ = [
    "ADAM_DEFAULTS", "Hyperparameter", "SearchSpace", "adam_space", "momentum_space",
    "ROLES", "SCALES", "SCHEMA_VERSION",
]

ROLES = ("scientific", "nuisance", "fixed")
SCALES = ("linear", "log", "integer", "discrete", "categorical")
RANGE_SCALES = ("linear", "log", "integer")
VALUE_SCALES = ("discrete", "categorical")
SCHEMA_VERSION = 1
_ENTRY_KEYS = {"name", "role", "scale", "low", "high", "range", "values", "value",
               "parent", "parent_values"}


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _native(v):
    """Plain Python scalar (JSON and keras-tuner want no numpy types)."""
    return v.item() if isinstance(v, np.generic) else v


def _same(a, b) -> bool:
    """Equality that keeps bools apart from numbers (``True == 1`` in Python)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _fmt(v) -> str:
    if _is_number(v) and not isinstance(v, numbers.Integral):
        return f"{v:.4g}"
    return str(v)


HYPERPARAMETER_COLUMNS = [
    "name", "role", "scale", "low", "high", "values", "parent", "parent_values",
]
"""Columns of a space's table (:meth:`SearchSpace.to_frame`), the results contract's
``hyperparameters`` DataFrame."""
ALGORITHMS = ("quasi_random", "random", "grid", "bayesian", "list")
"""Search algorithms by name; the oracles are in :mod:`playbook_kit.search.oracles`."""


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
        if not _is_number(value):
            return False
        if self.scale == "integer" and int(value) != value:
            return False
        return self.low <= value <= self.high

    def describe(self) -> str:
        """Range or values as one short string, for tables."""
        if self.is_fixed:
            return f"= {_fmt(self.value)}"
        if self.scale in RANGE_SCALES:
            return f"[{_fmt(self.low)}, {_fmt(self.high)}]"
        return "{" + ", ".join(_fmt(v) for v in self.values) + "}"

    def condition(self) -> str:
        if self.parent is None:
            return ""
        if len(self.parent_values) == 1:
            return f"{self.parent} = {_fmt(self.parent_values[0])}"
        return f"{self.parent} in {{" + ", ".join(_fmt(v) for v in self.parent_values) + "}"

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


class SearchSpace:
    """An ordered set of hyperparameters with roles, scales and conditions.

    Declare in a few lines; each method validates at once and returns the space, so
    calls chain::

        space = SearchSpace()
        space.scientific("optimizer", values=["adam", "nesterov"])
        space.nuisance("learning_rate", 1e-4, 1e-1, scale="log")
        space.nuisance("beta1", 0.8, 0.99, parent="optimizer", parent_values=["adam"])
        space.nuisance("one_minus_momentum", 1e-3, 0.5, scale="log",
                       parent="optimizer", parent_values=["nesterov"])
        space.fixed("activation", "relu")

    A range defaults to the linear scale (say ``scale="integer"`` or ``"log"``);
    ``values=`` gives ``"discrete"`` for numbers and ``"categorical"`` otherwise.
    Invalid declarations raise ``ValueError`` naming the hyperparameter, the value
    and what is allowed.
    """

    def __init__(self, hyperparameters=()):
        self._hps: dict[str, Hyperparameter] = {}
        for hp in hyperparameters:
            entry = hp.to_dict() if isinstance(hp, Hyperparameter) else dict(hp)
            self._add_entry(entry)

    # -- declaration -------------------------------------------------------------

    def scientific(self, name, low=None, high=None, *, scale=None, values=None,
                   parent=None, parent_values=None) -> "SearchSpace":
        """A hyperparameter whose effect the study measures."""
        return self.add(name, "scientific", low, high, scale=scale, values=values,
                        parent=parent, parent_values=parent_values)

    def nuisance(self, name, low=None, high=None, *, scale=None, values=None,
                 parent=None, parent_values=None) -> "SearchSpace":
        """A hyperparameter optimized over so that the comparison is fair."""
        return self.add(name, "nuisance", low, high, scale=scale, values=values,
                        parent=parent, parent_values=parent_values)

    def fixed(self, name, value, *, parent=None, parent_values=None) -> "SearchSpace":
        """A hyperparameter held at one value: a caveat on every conclusion."""
        if isinstance(value, (list, tuple, set, dict, np.ndarray)):
            raise ValueError(
                f"fixed hyperparameter '{name}': value {value!r} is a collection; a "
                "fixed hyperparameter takes exactly one int, float, str or bool "
                "(declare it scientific or nuisance to vary it)")
        return self.add(name, "fixed", values=[value], parent=parent,
                        parent_values=parent_values)

    def add(self, name, role, low=None, high=None, *, scale=None, values=None,
            parent=None, parent_values=None) -> "SearchSpace":
        """Declare a hyperparameter with any role (the generic form of the three above)."""
        hp = self._validate(name, role, scale, low, high, values, parent, parent_values)
        self._hps[hp.name] = hp
        return self

    def _validate(self, name, role, scale, low, high, values, parent, parent_values):
        if not isinstance(name, str) or not name:
            raise ValueError(f"hyperparameter name {name!r}: must be a non-empty string")
        if name in self._hps:
            raise ValueError(f"hyperparameter '{name}': duplicate name; names must be "
                             f"unique in a search space (already have {list(self._hps)})")
        if role not in ROLES:
            raise ValueError(f"hyperparameter '{name}': unknown role {role!r}; "
                             f"allowed: {list(ROLES)}")
        has_range = low is not None or high is not None
        if role == "fixed":
            if has_range:
                raise ValueError(
                    f"fixed hyperparameter '{name}': got a range [{low}, {high}]; a "
                    "fixed hyperparameter takes one value (use fixed(name, value))")
            if values is None or len(values) != 1:
                raise ValueError(f"fixed hyperparameter '{name}': got values {values!r}; "
                                 "a fixed hyperparameter takes exactly one value")
            value = _native(values[0])
            if not isinstance(value, (str, bool, numbers.Real)):
                raise ValueError(f"fixed hyperparameter '{name}': value {value!r} has "
                                 f"type {type(value).__name__}; allowed: int, float, "
                                 "str, bool")
            scale = "discrete" if _is_number(value) else "categorical"
            hp = Hyperparameter(name, role, scale, values=(value,))
        elif has_range:
            hp = self._validate_range(name, role, scale, low, high, values)
        elif values is not None:
            hp = self._validate_values(name, role, scale, values)
        else:
            raise ValueError(f"hyperparameter '{name}': give a range (low, high) or "
                             "values=[...]")
        if parent is None:
            if parent_values is not None:
                raise ValueError(f"hyperparameter '{name}': parent_values "
                                 f"{parent_values!r} given without a parent")
            return hp
        return self._validate_condition(hp, parent, parent_values)

    def _validate_range(self, name, role, scale, low, high, values):
        scale = "linear" if scale is None else scale
        if scale not in SCALES:
            raise ValueError(f"hyperparameter '{name}': unknown scale {scale!r}; "
                             f"allowed: {list(SCALES)}")
        if scale not in RANGE_SCALES:
            raise ValueError(f"hyperparameter '{name}': scale {scale!r} takes values=[...], "
                             f"not a range; a range takes one of {list(RANGE_SCALES)}")
        if values is not None:
            raise ValueError(f"hyperparameter '{name}': give a range or values, not both")
        if low is None or high is None:
            raise ValueError(f"hyperparameter '{name}': range [{low}, {high}] needs both "
                             "low and high")
        low, high = _native(low), _native(high)
        for bound in (low, high):
            if not _is_number(bound) or not math.isfinite(bound):
                raise ValueError(f"hyperparameter '{name}': bound {bound!r} is not a "
                                 "finite number")
        if low >= high:
            kind = "empty" if low == high else "reversed"
            raise ValueError(
                f"hyperparameter '{name}': {kind} range [{low}, {high}]; need low < high "
                "(use fixed() for a single value)")
        if scale == "log" and low <= 0:
            raise ValueError(f"hyperparameter '{name}': log scale needs 0 < low, got "
                             f"range [{low}, {high}]")
        if scale == "integer":
            if int(low) != low or int(high) != high:
                raise ValueError(f"hyperparameter '{name}': integer scale needs integer "
                                 f"bounds, got [{low}, {high}]")
            low, high = int(low), int(high)
        else:
            low, high = float(low), float(high)
        return Hyperparameter(name, role, scale, low=low, high=high)

    def _validate_values(self, name, role, scale, values):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise ValueError(f"hyperparameter '{name}': values {values!r} must be a list")
        values = [_native(v) for v in values]
        numeric = bool(values) and all(_is_number(v) for v in values)
        scale = ("discrete" if numeric else "categorical") if scale is None else scale
        if scale not in SCALES:
            raise ValueError(f"hyperparameter '{name}': unknown scale {scale!r}; "
                             f"allowed: {list(SCALES)}")
        if scale not in VALUE_SCALES:
            raise ValueError(f"hyperparameter '{name}': scale {scale!r} takes a range "
                             f"(low, high), not values; values take one of "
                             f"{list(VALUE_SCALES)}")
        if len(values) < 2:
            raise ValueError(
                f"{role} hyperparameter '{name}': values {values!r} has fewer than two "
                "values; a varied hyperparameter needs at least two (use fixed() for one)")
        if scale == "discrete" and not numeric:
            raise ValueError(f"hyperparameter '{name}': discrete scale needs numbers, got "
                             f"{values!r} (use scale='categorical')")
        if numeric and any(isinstance(v, float) for v in values):
            values = [float(v) for v in values]
        types = {type(v) for v in values}
        if len(types) > 1 or not types <= {str, bool, int, float}:
            raise ValueError(f"hyperparameter '{name}': values {values!r} must all be one "
                             "of int, float, str or bool, all of the same type")
        if len(set(values)) != len(values):
            raise ValueError(f"hyperparameter '{name}': values {values!r} has duplicates")
        return Hyperparameter(name, role, scale, values=tuple(values))

    def _validate_condition(self, hp, parent, parent_values):
        name = hp.name
        if parent not in self._hps:
            raise ValueError(
                f"hyperparameter '{name}': unknown parent {parent!r}; declare the parent "
                f"before its children (declared so far: {list(self._hps)})")
        p = self._hps[parent]
        if p.scale not in VALUE_SCALES + ("integer",):
            raise ValueError(f"hyperparameter '{name}': parent '{parent}' has scale "
                             f"{p.scale!r}; a parent must be discrete, categorical, "
                             "integer or fixed")
        if parent_values is None or isinstance(parent_values, (str, bytes)) \
                or not hasattr(parent_values, "__len__"):
            parent_values = [parent_values]
        parent_values = [_native(v) for v in parent_values]
        if not parent_values:
            raise ValueError(f"hyperparameter '{name}': parent_values is empty; give "
                             f"values of '{parent}'")
        allowed = (list(p.values) if p.values is not None
                   else f"integers in [{p.low}, {p.high}]")
        for v in parent_values:
            if not p.contains(v):
                raise ValueError(
                    f"hyperparameter '{name}': parent value {v!r} is not a value of "
                    f"'{parent}'; allowed: {allowed}")
        return Hyperparameter(hp.name, hp.role, hp.scale, hp.low, hp.high, hp.values,
                              parent, tuple(parent_values))

    # -- dict / YAML -------------------------------------------------------------

    @classmethod
    def from_dict(cls, spec) -> "SearchSpace":
        """Build a space from plain data (a parsed YAML or JSON file).

        Accepts ``{"hyperparameters": [entry, ...]}`` (what :meth:`to_dict` writes), a
        bare list of entries, or a mapping ``{name: entry}``. An entry has ``role``
        and either ``value`` (fixed), ``low``/``high`` (or ``range: [low, high]``) with
        an optional ``scale``, or ``values``; plus optional ``parent`` and
        ``parent_values``. Entry order is declaration order (it sets the unit-cube
        dimensions, hence the quasi-random points). Bounds written as strings
        (YAML reads ``1e-4`` as a string) are read as numbers.
        """
        if isinstance(spec, SearchSpace):
            return spec.copy()
        if isinstance(spec, dict) and "hyperparameters" in spec:
            version = spec.get("schema_version", SCHEMA_VERSION)
            if version != SCHEMA_VERSION:
                raise ValueError(f"search space schema_version {version!r} is not "
                                 f"supported; allowed: {SCHEMA_VERSION}")
            spec = spec["hyperparameters"]
        if isinstance(spec, dict):
            entries = []
            for name, entry in spec.items():
                if not isinstance(entry, dict):
                    raise ValueError(f"hyperparameter '{name}': entry {entry!r} must be "
                                     "a mapping")
                entries.append({"name": name, **entry})
        elif isinstance(spec, (list, tuple)):
            entries = list(spec)
        else:
            raise ValueError(f"search space spec of type {type(spec).__name__}: expected "
                             "a mapping or a list of entries")
        space = cls()
        for entry in entries:
            space._add_entry(entry)
        return space

    def _add_entry(self, entry):
        if not isinstance(entry, dict):
            raise ValueError(f"search space entry {entry!r}: must be a mapping")
        name = entry.get("name")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise ValueError(f"hyperparameter '{name}': unknown keys {sorted(unknown)}; "
                             f"allowed: {sorted(_ENTRY_KEYS)}")
        low, high = entry.get("low"), entry.get("high")
        if "range" in entry:
            if low is not None or high is not None:
                raise ValueError(f"hyperparameter '{name}': give range or low/high, "
                                 "not both")
            rng = entry["range"]
            if not isinstance(rng, (list, tuple)) or len(rng) != 2:
                raise ValueError(f"hyperparameter '{name}': range {rng!r} must be "
                                 "[low, high]")
            low, high = rng
        low, high = _number_from_text(name, low), _number_from_text(name, high)
        role = entry.get("role", "fixed" if "value" in entry else "nuisance")
        values = entry.get("values")
        if "value" in entry:
            if values is not None:
                raise ValueError(f"hyperparameter '{name}': give value or values, not both")
            if role != "fixed":
                raise ValueError(f"hyperparameter '{name}': value= is for role 'fixed', "
                                 f"got role {role!r} (use values=[...])")
            return self.fixed(name, entry["value"], parent=entry.get("parent"),
                              parent_values=entry.get("parent_values"))
        if role == "fixed" and entry.get("scale") is not None and values is None:
            raise ValueError(f"fixed hyperparameter '{name}': takes value=, not a scale "
                             "and range")
        return self.add(name, role, low, high, scale=entry.get("scale"), values=values,
                        parent=entry.get("parent"),
                        parent_values=entry.get("parent_values"))

    def to_dict(self) -> dict:
        """Plain data that :meth:`from_dict` reads back (order-safe for YAML dumps)."""
        return {"schema_version": SCHEMA_VERSION,
                "hyperparameters": [hp.to_dict() for hp in self._hps.values()]}

    def with_range(self, name, low=None, high=None, values=None) -> "SearchSpace":
        """A copy with ``name``'s range (or discrete values) replaced, validated as at
        declaration; role, scale and condition stay."""
        if name not in self._hps:
            raise ValueError(f"hyperparameter {name!r}: not in this space; have {self.names}")
        entries = self.to_dict()["hyperparameters"]
        for entry in entries:
            if entry["name"] == name:
                if values is not None:
                    entry["values"] = list(values)
                else:
                    entry["low"] = entry["low"] if low is None else float(low)
                    entry["high"] = entry["high"] if high is None else float(high)
        return SearchSpace.from_dict({"hyperparameters": entries})

    def copy(self) -> "SearchSpace":
        return SearchSpace(self._hps.values())

    # -- access ------------------------------------------------------------------

    def __len__(self):
        return len(self._hps)

    def __iter__(self):
        return iter(self._hps.values())

    def __contains__(self, name):
        return name in self._hps

    def __getitem__(self, name) -> Hyperparameter:
        try:
            return self._hps[name]
        except KeyError:
            raise KeyError(f"no hyperparameter '{name}' in the search space "
                           f"(have {list(self._hps)})") from None

    def __eq__(self, other):
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    @property
    def names(self) -> list[str]:
        return list(self._hps)

    @property
    def varied(self) -> list[str]:
        """Non-fixed names in declaration order: one unit-cube dimension each."""
        return [hp.name for hp in self._hps.values() if not hp.is_fixed]

    @property
    def scientific_names(self) -> list[str]:
        return [hp.name for hp in self._hps.values() if hp.role == "scientific"]

    @property
    def nuisance_names(self) -> list[str]:
        return [hp.name for hp in self._hps.values() if hp.role == "nuisance"]

    @property
    def fixed_values(self) -> dict:
        """Every fixed hyperparameter's value (conditional ones included)."""
        return {hp.name: hp.value for hp in self._hps.values() if hp.is_fixed}

    @property
    def dimension(self) -> int:
        return len(self.varied)

    def is_active(self, name, config) -> bool:
        """Whether ``name`` exists in ``config``: its parent chain holds the right values."""
        hp = self[name]
        while hp.parent is not None:
            if hp.parent not in config or not any(
                    _same(config[hp.parent], v) for v in hp.parent_values):
                return False
            hp = self._hps[hp.parent]
        return True

    # -- configs -----------------------------------------------------------------

    def config_from_unit(self, u) -> dict:
        """The config at point ``u`` of the unit cube (one coordinate per varied name).

        Inactive conditional children are left out; fixed values are included.
        """
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != self.dimension:
            raise ValueError(f"unit point has {u.shape[0]} coordinates; the space has "
                             f"{self.dimension} varied hyperparameters {self.varied}")
        config, i = {}, 0
        for hp in self._hps.values():
            ui = None
            if not hp.is_fixed:
                ui, i = u[i], i + 1
            if self.is_active(hp.name, config):
                config[hp.name] = hp.from_unit(ui)
        return config

    def unit_from_config(self, config, inactive: float = 0.5) -> np.ndarray:
        """The unit-cube point of ``config`` (``inactive`` for absent children)."""
        out = []
        for hp in self._hps.values():
            if hp.is_fixed:
                continue
            out.append(hp.to_unit(config[hp.name]) if hp.name in config else inactive)
        return np.asarray(out, dtype=float)

    def validate_config(self, config) -> dict:
        """Check a user config against the space; return it completed with fixed values.

        Raises ``ValueError`` naming the hyperparameter for an unknown name, a value
        outside its range or values, a missing active value, or a value given for an
        inactive child.
        """
        unknown = [k for k in config if k not in self._hps]
        if unknown:
            raise ValueError(f"config {config!r}: unknown hyperparameters {unknown}; "
                             f"the space has {self.names}")
        out = {}
        for hp in self._hps.values():
            active = self.is_active(hp.name, out)
            if not active:
                if hp.name in config and not hp.is_fixed:
                    raise ValueError(f"hyperparameter '{hp.name}': value "
                                     f"{config[hp.name]!r} given but it is inactive "
                                     f"(needs {hp.condition()})")
                continue
            if hp.name not in config:
                if hp.is_fixed:
                    out[hp.name] = hp.value
                    continue
                raise ValueError(f"hyperparameter '{hp.name}': missing from config "
                                 f"{config!r}")
            value = _native(config[hp.name])
            if not hp.contains(value):
                raise ValueError(f"hyperparameter '{hp.name}': value {value!r} not "
                                 f"allowed; allowed: {hp.describe()}")
            if hp.scale == "integer":
                value = int(value)
            elif hp.scale in ("linear", "log"):
                value = float(value)
            out[hp.name] = value
        return out

    # -- tables ------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """The results layer's ``hyperparameters`` table (see ``playbook_kit.results``)."""
        rows = []
        for hp in self._hps.values():
            ranged = hp.scale in RANGE_SCALES
            rows.append({
                "name": hp.name, "role": hp.role, "scale": hp.scale,
                "low": float(hp.low) if ranged else np.nan,
                "high": float(hp.high) if ranged else np.nan,
                "values": None if ranged else list(hp.values),
                "parent": hp.parent,
                "parent_values": None if hp.parent is None else list(hp.parent_values),
            })
        frame = pd.DataFrame(rows, columns=HYPERPARAMETER_COLUMNS)
        frame["parent"] = pd.Series([r["parent"] for r in rows], dtype=object)
        return frame.astype({"low": float, "high": float})

    def table(self) -> pd.DataFrame:
        """A readable table: name, role, scale, range/values, condition."""
        rows = [{"name": hp.name, "role": hp.role,
                 "scale": "" if hp.is_fixed else hp.scale,
                 "range/values": hp.describe(), "condition": hp.condition()}
                for hp in self._hps.values()]
        return pd.DataFrame(rows, columns=["name", "role", "scale", "range/values",
                                           "condition"])

    def _summary(self) -> str:
        return (f"SearchSpace: {len(self)} hyperparameters, {self.dimension} varied "
                f"({len(self.scientific_names)} scientific, "
                f"{len(self.nuisance_names)} nuisance), "
                f"{len(self) - self.dimension} fixed")

    def __repr__(self):
        if not self._hps:
            return "SearchSpace: empty"
        return self._summary() + "\n" + self.table().to_string(index=False)

    def _repr_html_(self):
        return f"<p>{self._summary()}</p>" + self.table().to_html(index=False)

    # -- keras-tuner -------------------------------------------------------------

    def _chain(self, hp):
        chain = []
        while hp.parent is not None:
            chain.append((hp.parent, list(hp.parent_values)))
            hp = self._hps[hp.parent]
        return chain[::-1]

    def to_keras_tuner(self):
        """The space as ``keras_tuner.HyperParameters`` (conditions as conditional scopes).

        fixed -> ``Fixed``; linear/log -> ``Float`` (``sampling="log"``); integer ->
        ``Int``; discrete -> ordered ``Choice``; categorical -> unordered ``Choice``
        (``Boolean`` for ``[False, True]``, since ``Choice`` turns bools into ints).
        """
        import keras_tuner as kt

        hps = kt.HyperParameters()
        for hp in self._hps.values():
            with contextlib.ExitStack() as stack:
                for parent, parent_values in self._chain(hp):
                    stack.enter_context(hps.conditional_scope(parent, parent_values))
                if hp.is_fixed:
                    hps.Fixed(hp.name, hp.value)
                elif hp.scale in ("linear", "log"):
                    hps.Float(hp.name, hp.low, hp.high, sampling=hp.scale)
                elif hp.scale == "integer":
                    hps.Int(hp.name, hp.low, hp.high)
                elif all(isinstance(v, bool) for v in hp.values):
                    hps.Boolean(hp.name)
                else:
                    hps.Choice(hp.name, list(hp.values),
                               ordered=hp.scale == "discrete")
        return hps

    @classmethod
    def from_keras_tuner(cls, hps, roles=None) -> "SearchSpace":
        """A space from ``keras_tuner.HyperParameters`` (roles default to the playbook's:
        ``Fixed`` is fixed, everything else nuisance). Stepped ranges become discrete."""
        from keras_tuner.src.engine.hyperparameters import hp_types

        roles = dict(roles or {})
        space = cls()
        for hp in hps.space:
            parent = parent_values = None
            if hp.conditions:
                parent, parent_values = hp.conditions[-1].name, hp.conditions[-1].values
            role = roles.get(hp.name, "fixed" if isinstance(hp, hp_types.Fixed)
                             else "nuisance")
            kw = {"parent": parent, "parent_values": parent_values}
            if isinstance(hp, hp_types.Fixed):
                space.fixed(hp.name, hp.value, **kw)
            elif isinstance(hp, hp_types.Boolean):
                space.add(hp.name, role, values=[False, True], **kw)
            elif isinstance(hp, hp_types.Choice):
                numeric = all(_is_number(v) for v in hp.values)
                space.add(hp.name, role, values=list(hp.values), **kw,
                          scale="discrete" if numeric and hp.ordered else "categorical")
            elif getattr(hp, "sampling", "linear") == "reverse_log":
                raise ValueError(f"hyperparameter '{hp.name}': sampling 'reverse_log' "
                                 "has no playbook scale; allowed: linear, log")
            elif isinstance(hp, hp_types.Int) and hp.sampling == "linear" \
                    and hp.step in (None, 1):
                space.add(hp.name, role, hp.min_value, hp.max_value, scale="integer", **kw)
            elif isinstance(hp, hp_types.Float) and hp.step is None:
                space.add(hp.name, role, hp.min_value, hp.max_value, scale=hp.sampling,
                          **kw)
            else:
                space.add(hp.name, role, values=sorted(set(hp.values)), **kw)
        return space


def _number_from_text(name, v):
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise ValueError(f"hyperparameter '{name}': bound {v!r} is not a number") \
                from None
    return v


# -- presets ---------------------------------------------------------------------

ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}
"""Keras' Adam defaults, used for every Adam hyperparameter the budget leaves fixed."""


def adam_space(trial_budget: int, learning_rate=(1e-4, 1e-1), beta1=(0.8, 0.99),
               epsilon=(1e-10, 1e-3), beta2=(0.9, 0.9999), far_more: int = 100,
               ) -> SearchSpace:
    """Adam's nuisance space sized by the trial budget, after the playbook.

    The playbook: fewer than 10 trials, tune the learning rate only; 10-25, also
    ``beta1``; 25 or more, also ``epsilon``; "far more", also ``beta2``. "Far more"
    has no number in the playbook: ``far_more=100`` trials is this toolkit's choice.
    Learning rate and epsilon are log scaled, the betas linear; the ranges are ours.
    What the budget does not tune is fixed at Keras' defaults (:data:`ADAM_DEFAULTS`),
    and ``optimizer`` is fixed to ``"adam"``.
    """
    if not isinstance(trial_budget, numbers.Integral) or trial_budget < 1:
        raise ValueError(f"trial_budget {trial_budget!r}: must be a positive integer")
    space = SearchSpace().fixed("optimizer", "adam")
    space.nuisance("learning_rate", *learning_rate, scale="log")
    tuned = {"beta1": trial_budget >= 10, "epsilon": trial_budget >= 25,
             "beta2": trial_budget >= far_more}
    ranges = {"beta1": (beta1, "linear"), "epsilon": (epsilon, "log"),
              "beta2": (beta2, "linear")}
    for name in ("beta1", "beta2", "epsilon"):
        if tuned[name]:
            (lo, hi), scale = ranges[name]
            space.nuisance(name, lo, hi, scale=scale)
        else:
            space.fixed(name, ADAM_DEFAULTS[name])
    return space


def momentum_space(learning_rate=(1e-3, 1.0), one_minus_momentum=(1e-3, 0.5),
                   nesterov: bool = True, tune_momentum: bool = True) -> SearchSpace:
    """SGD with (Nesterov) momentum: learning rate and ``one_minus_momentum``, both log.

    Tuning ``1 - momentum`` on a log scale spreads trials evenly over 0.5 ... 0.999
    momentum. With ``tune_momentum=False`` (the playbook's simpler early setup)
    ``one_minus_momentum`` is fixed at 0.1 (momentum 0.9). ``optimizer`` is fixed to
    ``"nesterov"`` or ``"momentum"``; the ranges are this toolkit's choice.
    """
    space = SearchSpace().fixed("optimizer", "nesterov" if nesterov else "momentum")
    space.nuisance("learning_rate", *learning_rate, scale="log")
    if tune_momentum:
        space.nuisance("one_minus_momentum", *one_minus_momentum, scale="log")
    else:
        space.fixed("one_minus_momentum", 0.1)
    return space
