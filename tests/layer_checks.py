"""Shared checks for layer tests (in the spirit of keras-hub's run_layer_test)."""

import json

import keras
import numpy as np


def check_serialization(layer):
    """get_config/from_config and serialize/deserialize reproduce the layer."""
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True, default=str) == json.dumps(
        config, sort_keys=True, default=str
    )
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    return clone


def check_layer(layer, inputs, expected_shape, expected_weights=None):
    """Builds, runs eagerly and symbolically, checks shapes and serialization."""
    outputs = layer(inputs)
    assert tuple(outputs.shape) == tuple(expected_shape)
    symbolic = layer.compute_output_shape(tuple(inputs.shape))
    assert tuple(symbolic) == tuple(expected_shape)
    if expected_weights is not None:
        assert len(layer.weights) == expected_weights
    clone = check_serialization(layer)
    clone(inputs)  # a clone builds from its config alone
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in layer.weights]
    return keras.ops.convert_to_numpy(outputs)


def assert_close(actual, expected, atol=1e-5, rtol=1e-5):
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(actual), np.asarray(expected), atol=atol, rtol=rtol
    )
