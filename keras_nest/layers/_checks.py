"""Argument checks shared by the layers and models (on top of `keras_nest.validation`).

Every check raises `TypeError` for the wrong kind of value and `ValueError`
for a value out of range, with a message that names the argument, shows the
value and says what would work.
"""

import numbers

import keras

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.validation import check_bool, check_float, check_int, describe


def check_pair(name, value, minimum=1):
    """An int or a pair of ints (each >= `minimum`) as a `(int, int)` tuple.

    >>> check_pair("block_size", 4), check_pair("block_size", [2, 3])
    ((4, 4), (2, 3))
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = check_int(name, value, minimum=minimum)
        return (value, value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise InvalidTypeError(f"{name} must be an int or a pair of ints, got {describe(value)}.")
    if len(value) != 2:
        raise InvalidValueError(f"{name} must be an int or a pair of ints, got {tuple(value)!r}.")
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))


def check_rate(name, value):
    """A probability in `[0, 1)` (dropout, drop-path) as a float.

    >>> check_rate("dropout", 1)
    Traceback (most recent call last):
        ...
    keras_nest.errors.InvalidValueError: dropout must be in [0, 1), got 1.0.
    """
    value = check_float(name, value)
    if not 0.0 <= value < 1.0:
        raise InvalidValueError(f"{name} must be in [0, 1), got {value}.")
    return value


def check_optional_int(name, value, minimum=1):
    """`None`, or an int >= `minimum`."""
    return None if value is None else check_int(name, value, minimum=minimum)


def check_seed(name, value):
    """`None` or an int seed (numpy ints become Python ints)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an int or None, got {describe(value)}.")
    return int(value)


def check_positive_int(name, value):
    """An int >= 1, with the message "must be a positive int"."""
    value = check_int(name, value)
    if value < 1:
        raise InvalidValueError(f"{name} must be a positive int (>= 1), got {value}.")
    return value


def check_mlp_ratio(value, widths=()):
    """`mlp_ratio` as a float > 0 that leaves every MLP at least one unit wide."""
    value = check_float("mlp_ratio", value, minimum=0.0, min_inclusive=False)
    for width in widths:
        check_mlp_width(value, width)
    return value


def check_mlp_width(mlp_ratio, width):
    """Raises if `int(width * mlp_ratio)`, the MLP's hidden width, is below 1.

    A plain `ValueError`: it runs in `build`, possibly while TensorFlow
    traces (see `keras_nest.errors`).
    """
    if int(width * mlp_ratio) < 1:
        raise ValueError(
            f"mlp_ratio {mlp_ratio:g} gives a {width}-wide layer an MLP of "
            f"int({width} * {mlp_ratio:g}) = 0 units; use mlp_ratio >= {1 / width:g}."
        )


def check_key_value_heads(num_heads, num_key_value_heads):
    """`num_key_value_heads` (default `num_heads`) as an int that divides `num_heads`."""
    if num_key_value_heads is None:
        return num_heads
    num_key_value_heads = check_int("num_key_value_heads", num_key_value_heads, minimum=1)
    if num_heads % num_key_value_heads:
        raise InvalidValueError(
            f"num_key_value_heads={num_key_value_heads} must divide "
            f"num_heads={num_heads} (use 1 for multi-query attention, "
            f"{num_heads} for multi-head attention)."
        )
    return num_key_value_heads


def check_activation(name, value):
    """`value` if Keras resolves it to an activation (`None`, a name or a callable)."""
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        raise InvalidValueError(
            f"{name} must be None, a Keras activation name such as 'softmax' or "
            f"'sigmoid', or a callable; got {value!r}."
        ) from None
    return value


__all__ = [
    "check_activation",
    "check_bool",
    "check_float",
    "check_int",
    "check_key_value_heads",
    "check_mlp_ratio",
    "check_mlp_width",
    "check_optional_int",
    "check_pair",
    "check_positive_int",
    "check_rate",
    "check_seed",
]
