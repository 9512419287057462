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

Serialization (:mod:`.serialization`), keras-tuner conversion (:mod:`.keras_tuner_space`)
and the optimizer presets (:mod:`.presets`) live in their own modules.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from ..core.validation import is_number
from .hyperparameter import (
    RANGE_SCALES, ROLES, SCALES, VALUE_SCALES, Hyperparameter, _native, _same,
)
from .keras_tuner_space import SpaceKerasTunerForm
from .serialization import SCHEMA_VERSION, SpaceDictForm

__all__ = [
    "Hyperparameter", "SearchSpace", "ROLES", "SCALES", "SCHEMA_VERSION",
    "HYPERPARAMETER_COLUMNS", "ALGORITHMS",
]

HYPERPARAMETER_COLUMNS = [
    "name", "role", "scale", "low", "high", "values", "parent", "parent_values",
]
"""Columns of a space's table (:meth:`SearchSpace.to_frame`), the results contract's
``hyperparameters`` DataFrame."""
ALGORITHMS = ("quasi_random", "random", "grid", "bayesian", "list")
"""Search algorithms by name; the oracles are in :mod:`playbook_kit.search.oracles`."""



class SearchSpace(SpaceDictForm, SpaceKerasTunerForm):
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

    Args:
        hyperparameters: hyperparameters to start from (as another space iterates them);
            usually empty, then declared with :meth:`scientific`, :meth:`nuisance` and
            :meth:`fixed`.

    Raises:
        ValueError: a declaration not allowed (a name twice, a range with low >= high, a
            log range that includes 0, a condition on an unknown parent, ...).

    Example::

        space = (pk.SearchSpace()
                 .scientific("depth", values=[1, 2, 3])
                 .nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log")
                 .fixed("activation", "relu"))
        space.to_frame()
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
            scale = "discrete" if is_number(value) else "categorical"
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
            if not is_number(bound) or not math.isfinite(bound):
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
        numeric = bool(values) and all(is_number(v) for v in values)
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
        """Non-fixed names in declaration order (one unit-cube dimension each)."""
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
        """The results layer's ``hyperparameters`` table (see
        ``playbook_kit.results.study_results``)."""
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
        """The summary and table for a notebook, from a template (values escaped)."""
        from ..reporting.rendering import render

        table = self.table()
        return render("search_space.html", summary=self._summary(),
                      columns=list(table.columns),
                      rows=[["" if value is None else value for value in row]
                            for row in table.itertuples(index=False)])

