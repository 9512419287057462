"""A search space as plain data: the dict (JSON / YAML) form stored with every study.

:class:`SpaceDictForm` is mixed into :class:`~playbook_kit.search.space.SearchSpace`
(``SearchSpace.from_dict``, ``space.to_dict()``); it needs only the space's
declaration methods, so it does not import the space module.
"""
from __future__ import annotations

__all__ = ["SpaceDictForm", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_ENTRY_KEYS = {"name", "role", "scale", "low", "high", "range", "values", "value",
               "parent", "parent_values"}


class SpaceDictForm:
    """``from_dict`` / ``to_dict`` of a search space (see the module docstring)."""

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
        if isinstance(spec, cls):
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


def _number_from_text(name, v):
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise ValueError(f"hyperparameter '{name}': bound {v!r} is not a number") \
                from None
    return v

