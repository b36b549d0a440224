"""`check_scalar` and `check_choice` (graphcert.utils.validation): exact types, sklearn-style
messages naming the parameter, the value and what was expected."""
from __future__ import annotations

import numpy as np
import pytest

from graphcert.utils.validation import check_choice, check_scalar


@pytest.mark.parametrize("value, kind, expected", [
    (3, int, 3), (np.int64(3), int, 3), (1e5, int, 100000), (2, float, 2.0),
    (np.float32(0.5), float, 0.5), (float("inf"), float, float("inf")), (True, bool, True),
    (np.bool_(False), bool, False), ("a", str, "a"),
])
def test_accepted_values_are_converted(value, kind, expected):
    out = check_scalar(value, "x", kind)
    assert out == expected and type(out) is kind


@pytest.mark.parametrize("value, kind, message", [
    (2.5, int, "x == 2.5 (float), expected an integer"),
    (True, int, "x == True (bool), expected an integer"),
    ("3", int, "x == '3' (str), expected an integer"),
    (float("inf"), int, "expected an integer"),
    (float("nan"), float, "expected a number, not NaN"),
    (None, float, "x == None (NoneType), expected a number"),
    ("no", bool, "x == 'no' (str), expected a boolean (true or false)"),
    (1, bool, "x == 1 (int), expected a boolean"),
    (3, str, "x == 3 (int), expected a string"),
])
def test_wrong_types_are_refused(value, kind, message):
    with pytest.raises(ValueError) as error:
        check_scalar(value, "x", kind)
    assert message in str(error.value)


@pytest.mark.parametrize("value, bounds, message", [
    (0.0, dict(min_val=0, max_val=1, include_boundaries="neither"),
     "x == 0.0, must be in (0, 1)"),
    (1.0, dict(min_val=0, max_val=1, include_boundaries="left"), "x == 1.0, must be in [0, 1)"),
    (-1.0, dict(min_val=0), "x == -1.0, must be >= 0"),
    (0.0, dict(min_val=0, include_boundaries="neither"), "x == 0.0, must be > 0"),
    (5.0, dict(max_val=4), "x == 5.0, must be <= 4"),
])
def test_ranges_name_the_interval(value, bounds, message):
    with pytest.raises(ValueError) as error:
        check_scalar(value, "x", float, **bounds)
    assert str(error.value) == message


def test_boundaries_are_included_as_asked():
    assert check_scalar(0, "x", int, min_val=0) == 0
    assert check_scalar(1.0, "x", float, min_val=0, max_val=1, include_boundaries="right") == 1
    with pytest.raises(ValueError, match="include_boundaries"):
        check_scalar(1, "x", int, min_val=0, include_boundaries="open")


def test_check_choice():
    assert check_choice("val", "targets", ("val", "test")) == "val"
    with pytest.raises(ValueError, match="targets == 'train', must be one of val, test"):
        check_choice("train", "targets", ("val", "test"))
    with pytest.raises(ValueError, match="targets == 3, must be one of"):
        check_choice(3, "targets", ("val", "test"))
