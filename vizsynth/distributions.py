"""Random parameters: a constant or a distribution, written the same way in every config field.

In YAML a parameter is one of::

    0.5                                   constant
    {uniform: [low, high]}                uniform on [low, high]; integer fields draw from low..high inclusive
    {normal: [mean, std]}                 normal; add `clip: [low, high]` to bound it
    {loguniform: [low, high]}             log-uniform on [low, high], 0 < low <= high
    {choice: [a, b, ...]}                 one of the options; add `weights: [...]` for unequal odds

Deciding (``parse_param``) is separate from drawing (``Param.sample``), and drawing always takes an
explicit ``numpy.random.Generator``: these objects hold no randomness of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

_KINDS = ("uniform", "normal", "loguniform", "choice")
# How far an unclipped normal reaches when checked against soft bounds (a 6-sigma draw: ~1e-9).
SOFT_SIGMAS = 6.0


@dataclass(frozen=True)
class Param:
    """A scalar random parameter.

    Attributes:
        kind: one of "constant", "uniform", "normal", "loguniform", "choice".
        args: the distribution's numbers: (value,), (low, high), (mean, std) or the options.
        weights: choice weights (normalised), or None.
        clip: optional (low, high) bound applied to normal draws.
    """

    kind: str
    args: tuple
    weights: tuple | None = None
    clip: tuple | None = None

    def sample(self, *, rng: np.random.Generator, integer: bool = False) -> Any:
        """Draws one value. Integer parameters draw integers (uniform is then inclusive)."""
        if self.kind == "constant":
            value = self.args[0]
        elif self.kind == "uniform":
            low, high = self.args
            if integer:
                return int(rng.integers(int(low), int(high) + 1))
            value = float(rng.uniform(low, high))
        elif self.kind == "normal":
            value = float(rng.normal(*self.args))
            if self.clip is not None:
                value = min(max(value, self.clip[0]), self.clip[1])
        elif self.kind == "loguniform":
            low, high = self.args
            value = float(math.exp(rng.uniform(math.log(low), math.log(high))))
        else:  # choice
            index = int(rng.choice(len(self.args), p=self.weights))
            value = self.args[index]
        if integer:
            return int(round(value))
        return value

    def support(self) -> tuple[float, float]:
        """The (min, max) a draw can take; used to check field bounds before any sampling."""
        if self.kind == "constant":
            return (self.args[0], self.args[0]) if _is_number(self.args[0]) else (math.nan, math.nan)
        if self.kind in ("uniform", "loguniform"):
            return self.args
        if self.kind == "normal":
            return self.clip if self.clip is not None else (-math.inf, math.inf)
        numbers = [a for a in self.args if _is_number(a)]
        if len(numbers) != len(self.args):
            return (math.nan, math.nan)
        return (min(numbers), max(numbers))

    def to_config(self) -> Any:
        """The YAML/JSON form this parameter was parsed from (round-trips through parse_param)."""
        if self.kind == "constant":
            return self.args[0]
        out: dict[str, Any] = {self.kind: list(self.args)}
        if self.weights is not None:
            out["weights"] = list(self.weights)
        if self.clip is not None:
            out["clip"] = list(self.clip)
        return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _two_numbers(kind: str, value: Any) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise ValueError(f"{kind} needs a list of two numbers, got {value!r}")
    _check_finite(kind, value)
    return float(value[0]), float(value[1])


def _check_finite(what: str, numbers: Any) -> None:
    """Refuses inf and nan: they pass every comparison-based rule (nan compares False) unseen."""
    bad = [v for v in numbers if _is_number(v) and not math.isfinite(v)]
    if bad:
        raise ValueError(f"{what} needs finite numbers, got {list(numbers)!r}")


def _checked(param: Param) -> Param:
    """A Param built in Python (not parsed) gets the same finiteness checks as a parsed one."""
    _check_finite(param.kind, param.args)
    for what, numbers in (("clip", param.clip), ("weights", param.weights)):
        if numbers is not None:
            _check_finite(what, numbers)
    return param


def parse_param(value: Any) -> Param:
    """Parses a config value into a Param.

    Raises:
        ValueError: with a message naming the rule and the value (pydantic adds the field path).
    """
    if isinstance(value, Param):
        return _checked(value)
    if _is_number(value) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    if _is_number(value) or isinstance(value, str):
        return Param("constant", (value,))
    if not isinstance(value, dict):
        raise ValueError(
            f"expected a number or one of {{{', '.join(k + ': ...' for k in _KINDS)}}}, got {value!r}"
        )
    kinds = [k for k in value if k in _KINDS]
    extra = sorted(set(value) - set(_KINDS) - {"weights", "clip"})
    if len(kinds) != 1 or extra:
        raise ValueError(
            f"a distribution has exactly one of the keys {list(_KINDS)} (plus 'weights' for choice, "
            f"'clip' for normal), got keys {sorted(value)}"
        )
    kind = kinds[0]
    if "weights" in value and kind != "choice":
        raise ValueError(f"'weights' only applies to choice, got it with {kind}")
    if "clip" in value and kind != "normal":
        raise ValueError(f"'clip' only applies to normal, got it with {kind}")
    raw = value[kind]
    if kind == "uniform":
        low, high = _two_numbers(kind, raw)
        if low > high:
            raise ValueError(f"uniform needs low <= high, got [{low:g}, {high:g}]")
        return Param(kind, (low, high))
    if kind == "loguniform":
        low, high = _two_numbers(kind, raw)
        if not 0 < low <= high:
            raise ValueError(f"loguniform needs 0 < low <= high, got [{low:g}, {high:g}]")
        return Param(kind, (low, high))
    if kind == "normal":
        mean, std = _two_numbers(kind, raw)
        if std < 0:
            raise ValueError(f"normal needs std >= 0, got std={std:g}")
        clip = None
        if "clip" in value:
            clip = _two_numbers("clip", value["clip"])
            if clip[0] > clip[1]:
                raise ValueError(f"clip needs low <= high, got [{clip[0]:g}, {clip[1]:g}]")
        return Param(kind, (mean, std), clip=clip)
    # choice
    if not isinstance(raw, (list, tuple)) or len(raw) == 0:
        raise ValueError(f"choice needs a non-empty list of options, got {raw!r}")
    options = tuple(tuple(o) if isinstance(o, list) else o for o in raw)
    _check_finite(kind, options)
    weights = None
    if "weights" in value:
        w = value["weights"]
        if not (isinstance(w, (list, tuple)) and len(w) == len(options) and all(_is_number(x) for x in w)):
            raise ValueError(f"choice weights need one number per option ({len(options)}), got {w!r}")
        _check_finite("choice weights", w)
        if any(x < 0 for x in w) or sum(w) <= 0:
            raise ValueError(f"choice weights must be >= 0 with a positive sum, got {list(w)}")
        total = float(sum(w))
        weights = tuple(float(x) / total for x in w)
    return Param(kind, options, weights=weights)


def bounded(ge: float | None = None, le: float | None = None, gt: float | None = None,
            lt: float | None = None, *, soft: bool = False) -> Callable[[Param], Param]:
    """A validator that checks every value a Param can draw lies within the given bounds.

    Args:
        ge, le, gt, lt: the bounds (None: no bound on that side).
        soft: the bounds are sanity limits rather than rules of meaning (positions, angles that
            wrap around): an unclipped normal is then accepted when mean ± 6 std lies within
            them, instead of needing a ``clip``.
    """

    def check(param: Param) -> Param:
        low, high = param.support()
        spread = ""
        if soft and param.kind == "normal" and param.clip is None:
            mean, std = param.args
            low, high = mean - SOFT_SIGMAS * std, mean + SOFT_SIGMAS * std
            spread = f" (mean ± {SOFT_SIGMAS:g} std)"
        if math.isnan(low):
            raise ValueError(f"expected numbers, got {param.to_config()!r}")
        rules = []
        if ge is not None and low < ge:
            rules.append(f">= {ge:g}")
        if gt is not None and low <= gt:
            rules.append(f"> {gt:g}")
        if le is not None and high > le:
            rules.append(f"<= {le:g}")
        if lt is not None and high >= lt:
            rules.append(f"< {lt:g}")
        if rules:
            raise ValueError(
                f"every value must be {' and '.join(rules)}, but {param.to_config()!r} can give "
                f"values in [{low:g}, {high:g}]{spread}"
            )
        return param

    return check
