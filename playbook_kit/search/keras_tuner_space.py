"""A search space to and from ``keras_tuner.HyperParameters``.

:class:`SpaceKerasTunerForm` is mixed into
:class:`~playbook_kit.search.space.SearchSpace` (``space.to_keras_tuner()``,
``SearchSpace.from_keras_tuner(hps)``); keras-tuner is imported only when called.
"""
from __future__ import annotations

import contextlib

from ..core.validation import is_number

__all__ = ["SpaceKerasTunerForm"]


class SpaceKerasTunerForm:
    """keras-tuner conversion of a search space (see the module docstring)."""

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
        ``Fixed`` and a one-value ``Choice`` are fixed, everything else nuisance).
        Stepped ranges become discrete."""
        from keras_tuner.engine import hyperparameters as hp_types

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
            elif isinstance(hp, hp_types.Choice) and len(hp.values) == 1:
                space.fixed(hp.name, hp.values[0], **kw)
            elif isinstance(hp, hp_types.Boolean):
                space.add(hp.name, role, values=[False, True], **kw)
            elif isinstance(hp, hp_types.Choice):
                numeric = all(is_number(v) for v in hp.values)
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

