"""The user's request, parsed and validated once (SPEC.md sections 3, 4, 7, 8).

:class:`FitOptions` is the one options object: the library, the command line and the
settings-file reader all build it, and nothing downstream validates again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from .errors import SpecError, UnreadableInputError

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "MODES",
    "FitOptions",
    "Mode",
    "load_settings",
    "settings_from_mapping",
]

Mode = Literal["auto", "bake", "wrap"]
MODES: tuple[Mode, ...] = ("auto", "bake", "wrap")

#: Relative tolerance of ``verify``: float32 storage loses about 1.2e-7 of an extent
#: per rounding, so 1e-5 accepts any honest float32 output with a wide margin while
#: still catching a 0.1 mm error on a 1 m asset.
DEFAULT_RTOL = 1e-5
#: Absolute tolerance of ``verify``, in metres (one micrometre).
DEFAULT_ATOL = 1e-6

Triple = tuple[float, float, float]


def _is_number(value: object) -> bool:
    # bool is an int subclass; ``True`` is not a size.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _triple(name: str, value: object) -> Triple:
    if isinstance(value, (str, bytes, Mapping)):
        raise SpecError(f"{name} is {value!r}; expected a list of three numbers")
    try:
        items = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise SpecError(f"{name} is {value!r}; expected a list of three numbers") from None
    if len(items) != 3:
        raise SpecError(f"{name} is {value!r}; expected a list of three numbers, got {len(items)}")
    out = []
    for i, item in enumerate(items):
        if hasattr(item, "item") and not isinstance(item, (int, float)):
            item = item.item()  # numpy scalar
        if not _is_number(item):
            raise SpecError(f"{name}[{i}] is {item!r}; expected a number")
        out.append(float(item))
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class FitOptions:
    """What the user asked for: target size, pivot, representation and tolerances.

    Parameters
    ----------
    scaled_bbox : (3,) float
        Target ``[width, height, depth]`` in metres; each ``> 0`` or exactly ``-1``
        (determine automatically). Default ``(-1, -1, -1)``.
    pivot_point : (3,) float
        Where the origin goes, in ``[-0.5, 0.5]`` per axis relative to the scaled
        box (``0`` centre, ``-0.5`` min face). Default ``(0, 0, 0)``.
    preserve_aspect_ratio : bool
        One uniform factor that fits the asset inside the target box.
    mode : {'auto', 'bake', 'wrap'}
        How a scene-graph format records the transform (SPEC.md section 7).
    rtol, atol : float
        Tolerances of ``verify``: a check holds within ``atol + rtol * size``.
    dequantize : bool
        Let ``bake`` rewrite quantized (integer) positions as float32 where it would
        otherwise fold the fit into a node or fall back to ``wrap``. Off by default:
        quantized data is never changed unless asked.

    Raises
    ------
    SpecError
        Any value outside what is allowed; the message names the field and value.

    Examples
    --------
    >>> FitOptions(scaled_bbox=[1, 2, -1], pivot_point=[0, -0.5, 0]).scaled_bbox
    (1.0, 2.0, -1.0)
    """

    scaled_bbox: Triple = (-1.0, -1.0, -1.0)
    pivot_point: Triple = (0.0, 0.0, 0.0)
    preserve_aspect_ratio: bool = False
    mode: Mode = "auto"
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    dequantize: bool = False
    # Set by readers of settings files so that messages can say where a value came from.
    source: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        bbox = _triple("scaled_bbox", self.scaled_bbox)
        for i, v in enumerate(bbox):
            if not (v == -1.0 or (math.isfinite(v) and v > 0)):
                raise SpecError(
                    f"scaled_bbox[{i}] is {v!r}; expected a size > 0 in metres or exactly -1 (auto)"
                )
        pivot = _triple("pivot_point", self.pivot_point)
        for i, v in enumerate(pivot):
            if not (math.isfinite(v) and -0.5 <= v <= 0.5):
                raise SpecError(f"pivot_point[{i}] is {v!r}; expected a number in [-0.5, 0.5]")
        if not isinstance(self.preserve_aspect_ratio, bool):
            raise SpecError(
                f"preserve_aspect_ratio is {self.preserve_aspect_ratio!r}; expected true or false"
            )
        if not isinstance(self.dequantize, bool):
            raise SpecError(f"dequantize is {self.dequantize!r}; expected true or false")
        if self.mode not in MODES:
            raise SpecError(f"mode is {self.mode!r}; expected one of {', '.join(MODES)}")
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not _is_number(v) or not math.isfinite(v) or v < 0:
                raise SpecError(f"{name} is {v!r}; expected a finite number >= 0")
        object.__setattr__(self, "scaled_bbox", bbox)
        object.__setattr__(self, "pivot_point", pivot)
        object.__setattr__(self, "rtol", float(self.rtol))
        object.__setattr__(self, "atol", float(self.atol))

    @property
    def target_axes(self) -> tuple[int, ...]:
        """Indices of the axes that have a target size (not ``-1``)."""
        return tuple(i for i, v in enumerate(self.scaled_bbox) if v != -1.0)

    def updated(self, **changes: Any) -> FitOptions:
        """Return a copy with some fields replaced (validated again); ``None`` keeps a field."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **overrides: Any) -> FitOptions:
        """Build options from a hosted-API request body or session object.

        The keys ``scaled_bbox``, ``pivot_point`` and ``preserve_aspect_ratio`` are
        read at the top level, under ``settings``, or under ``input.settings``; other
        keys are ignored. Keyword ``overrides`` that are not ``None`` win.
        """
        values = settings_from_mapping(settings)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The request as plain JSON-ready values."""
        return {
            "scaled_bbox": list(self.scaled_bbox),
            "pivot_point": list(self.pivot_point),
            "preserve_aspect_ratio": self.preserve_aspect_ratio,
            "mode": self.mode,
            "rtol": self.rtol,
            "atol": self.atol,
            "dequantize": self.dequantize,
        }


_KEYS = ("scaled_bbox", "pivot_point", "preserve_aspect_ratio")


def settings_from_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """Pick the fit settings out of a hosted-API request body or session object.

    Looks at the top level, then ``settings``, then ``input.settings``; the first
    place that has any of the keys wins.

    Raises
    ------
    SpecError
        ``data`` is not an object, or it holds none of the keys anywhere.
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"settings are {type(data).__name__}; expected a JSON object")
    candidates: list[object] = [data, data.get("settings")]
    inp = data.get("input")
    if isinstance(inp, Mapping):
        candidates.append(inp.get("settings"))
    for cand in candidates:
        if isinstance(cand, Mapping) and any(k in cand for k in _KEYS):
            return {k: cand[k] for k in _KEYS if k in cand}
    raise SpecError(
        "settings hold none of scaled_bbox, pivot_point, preserve_aspect_ratio "
        "(looked at the top level, under 'settings' and under 'input.settings')"
    )


def load_settings(path: str | Path) -> dict[str, Any]:
    """Read a settings JSON file and return the fit settings it holds.

    Raises
    ------
    UnreadableInputError
        The file is missing or is not JSON.
    SpecError
        It holds no fit settings.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInputError(f"cannot read settings: {_reason(exc)}", p) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInputError(
            f"settings are not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", p
        ) from None
    try:
        return settings_from_mapping(cast(Mapping[str, Any], data))
    except SpecError as exc:
        raise exc.with_path(p) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror else str(exc)
    return str(exc)
