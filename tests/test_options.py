"""FitOptions: parsed and validated once (SPEC.md sections 3 and 4)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from meshpivot.errors import MeshPivotError, SpecError, UnreadableInputError
from meshpivot.options import FitOptions, load_settings, settings_from_mapping


def test_defaults() -> None:
    o = FitOptions()
    assert o.scaled_bbox == (-1.0, -1.0, -1.0)
    assert o.pivot_point == (0.0, 0.0, 0.0)
    assert o.preserve_aspect_ratio is False
    assert o.mode == "auto"
    assert o.target_axes == ()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"scaled_bbox": [1, 2]}, "scaled_bbox .* got 2"),
        ({"scaled_bbox": [1, 2, 3, 4]}, "got 4"),
        ({"scaled_bbox": "123"}, "expected a list of three numbers"),
        ({"scaled_bbox": 5}, "expected a list of three numbers"),
        ({"scaled_bbox": [1, 0, 1]}, r"scaled_bbox\[1\] is 0.0; expected a size > 0"),
        ({"scaled_bbox": [1, 1, -2]}, r"scaled_bbox\[2\] is -2.0"),
        ({"scaled_bbox": [1, 1, -0.5]}, r"scaled_bbox\[2\]"),
        ({"scaled_bbox": [math.nan, 1, 1]}, r"scaled_bbox\[0\] is nan"),
        ({"scaled_bbox": [math.inf, 1, 1]}, r"scaled_bbox\[0\] is inf"),
        ({"scaled_bbox": [1, "2", 1]}, r"scaled_bbox\[1\] is '2'; expected a number"),
        ({"scaled_bbox": [True, 1, 1]}, r"scaled_bbox\[0\] is True"),
        ({"pivot_point": [0, -0.6, 0]}, r"pivot_point\[1\] is -0.6; expected a number in \[-0.5, 0.5\]"),
        ({"pivot_point": [0.50001, 0, 0]}, r"pivot_point\[0\]"),
        ({"pivot_point": [0, 0, math.nan]}, r"pivot_point\[2\] is nan"),
        ({"pivot_point": [0, 0]}, "pivot_point"),
        ({"preserve_aspect_ratio": "yes"}, "preserve_aspect_ratio is 'yes'; expected true or false"),
        ({"preserve_aspect_ratio": 1}, "preserve_aspect_ratio is 1"),
        ({"mode": "squash"}, "mode is 'squash'; expected one of auto, bake, wrap"),
        ({"rtol": -1}, "rtol is -1"),
        ({"atol": math.nan}, "atol is nan"),
    ],
)
def test_invalid_values_name_field_value_and_what_is_allowed(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment) as info:
        FitOptions(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, MeshPivotError)
    assert info.value.exit_code == 2


def test_boundaries_are_inclusive_and_minus_one_is_auto() -> None:
    o = FitOptions(scaled_bbox=[-1, 1e-9, 1e9], pivot_point=[-0.5, 0.5, 0])
    assert o.target_axes == (1, 2)


def test_numpy_values_are_accepted() -> None:
    import numpy as np

    o = FitOptions(scaled_bbox=np.array([1.0, 2.0, 3.0]), pivot_point=np.float32([0, -0.5, 0]))
    assert o.scaled_bbox == (1.0, 2.0, 3.0) and o.pivot_point == (0.0, -0.5, 0.0)


def test_options_are_frozen() -> None:
    o = FitOptions()
    with pytest.raises(AttributeError):
        o.mode = "bake"  # type: ignore[misc]


@pytest.mark.parametrize(
    "body",
    [
        {"scaled_bbox": [1, 2, 3], "pivot_point": [0, -0.5, 0]},
        {"image_url": "x", "settings": {"scaled_bbox": [1, 2, 3], "pivot_point": [0, -0.5, 0]}},
        {"input": {"settings": {"scaled_bbox": [1, 2, 3], "pivot_point": [0, -0.5, 0]}}},
    ],
)
def test_settings_are_found_at_top_level_under_settings_and_input_settings(body: dict[str, object]) -> None:
    o = FitOptions.from_settings(body)
    assert o.scaled_bbox == (1.0, 2.0, 3.0) and o.pivot_point == (0.0, -0.5, 0.0)


def test_overrides_win_over_settings() -> None:
    o = FitOptions.from_settings({"scaled_bbox": [1, 2, 3]}, scaled_bbox=[4, 5, 6], pivot_point=None)
    assert o.scaled_bbox == (4.0, 5.0, 6.0) and o.pivot_point == (0.0, 0.0, 0.0)


def test_settings_without_keys_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="none of scaled_bbox"):
        settings_from_mapping({"image_url": "x"})


def test_load_settings_reports_bad_json_with_place(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text('{"scaled_bbox": [1, 2,', encoding="utf-8")
    with pytest.raises(UnreadableInputError, match=r"not valid JSON .line 1") as info:
        load_settings(p)
    assert info.value.path == str(p)
    with pytest.raises(UnreadableInputError, match="cannot read settings"):
        load_settings(tmp_path / "missing.json")
    p.write_text(json.dumps({"settings": {"preserve_aspect_ratio": True}}), encoding="utf-8")
    assert load_settings(p) == {"preserve_aspect_ratio": True}
