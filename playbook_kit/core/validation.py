"""Argument validation with one error template.

Every check raises ``ValueError("<field>=<value> is not allowed; <what is allowed>")``,
prefixed by where the value was given (``"setup: seed=-1 is not allowed; use an
integer >= 0"``), before any work starts. ``bool`` is never accepted as a number.
"""
from __future__ import annotations

import math
import numbers


def not_allowed(field: str, value, allowed: str, where: str | None = None,
                why: str | None = None, error: type[Exception] = ValueError) -> Exception:
    """The error for ``field=value``: says the value, what is allowed and, optionally, why
    (``why`` is appended in parentheses: a default, a unit, an example). ``error`` is the
    exception's class: a ValueError unless the caller's contract names another
    (``WorkloadError``, a subclass; ``TypeError``)."""
    prefix = f"{where}: " if where else ""
    reason = f" ({why})" if why else ""
    return error(f"{prefix}{field}={value!r} is not allowed; {allowed}{reason}")


class _Shown:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def shown_as(text: str):
    """A value for :func:`not_allowed` that prints as ``text``, unquoted: a type name
    (``frame=list``) or a shortened repr, where the value itself would print too long."""
    return _Shown(text)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A real number that is not a bool (``True`` is an ``int`` to Python, never a number
    here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(field: str, value, minimum: int | None = None, maximum: int | None = None,
              where: str | None = None, allow_none: bool = False,
              why: str | None = None) -> int | None:
    """``value`` as an int within [minimum, maximum]; ``None`` only if ``allow_none``."""
    if value is None and allow_none:
        return None
    ok = _is_int(value) and (minimum is None or value >= minimum) and (
        maximum is None or value <= maximum)
    if not ok:
        raise not_allowed(field, value, "use " + _int_range(minimum, maximum)
                          + (", or None" if allow_none else ""), where, why)
    return int(value)


def _int_range(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    if minimum is not None:
        return f"an integer >= {minimum}"
    if maximum is not None:
        return f"an integer <= {maximum}"
    return "an integer"


def check_number(field: str, value, low: float | None = None, high: float | None = None,
                 low_inclusive: bool = True, high_inclusive: bool = True,
                 where: str | None = None, allow_none: bool = False,
                 why: str | None = None) -> float | None:
    """``value`` as a finite float within the given bounds."""
    if value is None and allow_none:
        return None
    ok = is_number(value) and math.isfinite(float(value))
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        raise not_allowed(field, value, "use " + _number_range(
            low, high, low_inclusive, high_inclusive) + (", or None" if allow_none else ""),
            where, why)
    return float(value)


def _number_range(low, high, low_inclusive, high_inclusive) -> str:
    if low is not None and high is not None:
        return (f"a number in {'[' if low_inclusive else '('}{low}, {high}"
                f"{']' if high_inclusive else ')'}")
    if low is not None:
        return f"a number {'>=' if low_inclusive else '>'} {low}"
    if high is not None:
        return f"a number {'<=' if high_inclusive else '<'} {high}"
    return "a finite number"


def check_fraction(field: str, value, allow_zero: bool = False, allow_one: bool = True,
                   where: str | None = None) -> float:
    """``value`` as a float in (0, 1]; ``allow_zero``/``allow_one`` include or exclude the ends."""
    return check_number(field, value, 0.0, 1.0, low_inclusive=allow_zero,
                        high_inclusive=allow_one, where=where)


def check_choice(field: str, value, choices, where: str | None = None):
    """``value`` if it is one of ``choices``."""
    if value not in tuple(choices):
        raise not_allowed(field, value,
                          "use one of " + ", ".join(repr(c) for c in choices), where)
    return value


def check_seed(field: str, value, where: str | None = None, allow_none: bool = False,
               why: str | None = None):
    """A seed: an integer >= 0 (or None where a fresh, irreproducible draw is meant)."""
    return check_int(field, value, minimum=0, where=where, allow_none=allow_none, why=why)
