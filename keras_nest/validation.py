"""Argument checks at the public boundary: one message style for every bad input.

Every check raises `InvalidTypeError` (a `TypeError`: wrong kind of value)
or `InvalidValueError` (a `ValueError`: right kind, wrong value), both
`keras_nest.errors.InputError`s, with a message that names the argument, shows the value
given and says what would work, e.g.::

    keras_nest.errors.InvalidValueError: epochs must be an int >= 1, got 0.

The CLI turns both into a one-line error with exit status 2. `bool` is not
accepted where an int is meant (`True` would silently become 1), and
integral floats are not accepted either (`16.5` would become 16).

Example:

>>> from keras_nest.validation import check_int
>>> check_int("epochs", 3, minimum=1)
3
>>> check_int("epochs", 0, minimum=1)
Traceback (most recent call last):
    ...
keras_nest.errors.InvalidValueError: epochs must be an int >= 1, got 0.
"""

import math
import numbers

import numpy as np

from keras_nest.errors import InvalidTypeError, InvalidValueError


def describe(value):
    """`value` as shown in error messages: its repr and type."""
    return f"{value!r} ({type(value).__name__})"


def check_int(name, value, minimum=None, maximum=None):
    """`value` as a Python int within `[minimum, maximum]`.

    Raises:
        TypeError: `value` is not an integer (bools and floats included).
        ValueError: it is out of range.
    """
    bounds = _bounds_text(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an int{bounds}, got {describe(value)}.")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidValueError(f"{name} must be an int{bounds}, got {value}.")
    return value


def check_float(name, value, minimum=None, maximum=None, min_inclusive=True, max_inclusive=True):
    """`value` as a finite Python float within the given bounds.

    Raises:
        TypeError: `value` is not a real number (bools included).
        ValueError: it is NaN, infinite or out of range.
    """
    low = "" if minimum is None else f" {'>=' if min_inclusive else '>'} {minimum:g}"
    high = "" if maximum is None else f" {'<=' if max_inclusive else '<'} {maximum:g}"
    bounds = low + (" and" if low and high else "") + high
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be a number{bounds}, got {describe(value)}.")
    value = float(value)
    too_low = minimum is not None and (value < minimum if min_inclusive else value <= minimum)
    too_high = maximum is not None and (value > maximum if max_inclusive else value >= maximum)
    if not math.isfinite(value) or too_low or too_high:
        raise InvalidValueError(f"{name} must be a finite number{bounds}, got {value}.")
    return value


def check_bool(name, value):
    """`value` if it is a bool (or numpy bool); strings such as `"False"` are refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InvalidTypeError(f"{name} must be True or False, got {describe(value)}.")


def check_choice(name, value, choices):
    """`value` if it is one of `choices`."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise InvalidValueError(f"{name} must be one of {shown}; got {value!r}.")
    return value


def check_numeric_array(name, value, what):
    """`value` as a numpy array of ints or floats.

    Raises:
        InvalidTypeError: anything else (strings, objects, ragged lists), as
            "`name` must be `what`; got dtype D."
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        array = np.asarray(None)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.integer)
                                     or np.issubdtype(array.dtype, np.floating)):
        raise InvalidTypeError(f"{name} must be {what}; got dtype {array.dtype}.")
    return array


def check_int_tuple(name, value, length=None, minimum=1):
    """`value` (a list or tuple of ints, each >= `minimum`) as a tuple.

    Raises:
        TypeError: `value` is not a sequence of ints.
        ValueError: wrong length or an entry out of range.
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise InvalidTypeError(f"{name} must be a tuple of ints, got {describe(value)}.")
    if length is not None and len(value) != length:
        raise InvalidValueError(f"{name} must have {length} entries, got {len(value)}: {tuple(value)!r}.")
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))


def check_normalization(mean, std, channels, names=("mean", "std")):
    """`mean` and `std` as float32 `(channels,)` arrays, or a clear error.

    Each is one number (for every channel) or one per channel, in `[0, 1]`
    pixel units: a mean in `[0, 1]` and a std in `(0, 1]` (values in
    `0..255` units, such as ImageNet's 123.7 / 58.4, are refused with a
    hint to divide by 255). Messages call them `names`.

    Example:

    >>> [m.tolist() for m in check_normalization(0.5, (0.25, 0.5, 0.125), 3)]
    [[0.5, 0.5, 0.5], [0.25, 0.5, 0.125]]
    >>> check_normalization((0.5, 0.5), 0.25, 3)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: mean must be one number or 3 (one per channel), got 2: (0.5, 0.5).
    """
    return (_per_channel(names[0], mean, channels, 0.0, 1.0, low_open=False),
            _per_channel(names[1], std, channels, 0.0, 1.0, low_open=True))


def _per_channel(name, value, channels, low, high, low_open):
    shown = value if np.ndim(value) == 0 else tuple(np.asarray(value).tolist())
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidTypeError(
            f"{name} must be a number or one number per channel, got {describe(value)}."
        ) from None
    if isinstance(value, (bool, np.bool_, str, bytes)) or array.ndim > 1:
        raise InvalidTypeError(
            f"{name} must be a number or one number per channel, got {describe(value)}."
        )
    if array.ndim == 1 and len(array) not in (1, channels):
        raise InvalidValueError(
            f"{name} must be one number or {channels} (one per channel), got {len(array)}: {shown}."
        )
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    bad = ~np.isfinite(array) | (array > high) | ((array <= low) if low_open else (array < low))
    if np.any(bad):
        raise InvalidValueError(
            f"{name} must be in {interval} ([0, 1] pixel units; divide 0..255 values by 255), "
            f"got {shown}."
        )
    return np.broadcast_to(array.astype(np.float32), (channels,))


def _bounds_text(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""
