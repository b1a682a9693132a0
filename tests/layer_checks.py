"""Shared checks for layer tests (in the spirit of keras-hub's run_layer_test)."""

import inspect
import json
import os
import tempfile

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


# --- run_layer_test: one contract for every layer ----------------------------

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _overrides(layer_cls, name):
    """Whether `layer_cls` defines `name` itself rather than inheriting Layer's."""
    return getattr(layer_cls, name) is not getattr(keras.layers.Layer, name)


def _takes_training(layer):
    return "training" in inspect.signature(layer.call).parameters


def _functional(layer_cls, init_kwargs, input_data):
    """A tiny functional model around one fresh layer (batch size left unknown)."""
    inputs = keras.Input(shape=input_data.shape[1:], dtype=str(input_data.dtype))
    outputs = layer_cls(**init_kwargs)(inputs)
    return keras.Model(inputs, outputs)


def _copy_weights(source, target):
    assert len(source.weights) == len(target.weights)
    for s, t in zip(source.weights, target.weights, strict=True):
        # Through numpy: on JAX an assigned array is shared, not copied, and a jitted predict
        # donates (deletes) its model's buffers, which would delete the source's too.
        t.assign(np.asarray(keras.ops.convert_to_numpy(s), dtype=t.dtype))


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    expected_output_dtype="float32",
    run_mixed_precision_check=True,
    run_saving_check=True,
    run_compiled_check=True,
    run_training_check=True,
    atol=1e-5,
    rtol=1e-5,
    mixed_precision_atol=5e-2,
):
    """The checks every layer of the package passes, in the spirit of keras-hub's `run_layer_test`.

    1. Output shape of an eager call, of a symbolic call (`keras.Input`) and of
       `compute_output_shape` where the layer defines it; output dtype; weight
       counts; finite outputs (also with `training=True` where `call` takes it).
    2. Config round trip: the config is JSON-able, `from_config(get_config())`
       and `deserialize(serialize(layer))` give the same class and config, and
       the clone, given the original's weights, computes the same outputs.
    3. Saving: a tiny functional model holding the layer is saved as `.keras`,
       reloaded, and gives the same outputs.
    4. Eager vs compiled: the model called eagerly equals its
       `predict` under `jit_compile=True` (XLA) within `atol`/`rtol`.
    5. Dtype policy: built with `dtype="mixed_float16"` and `"mixed_bfloat16"`,
       the layer (and every sublayer) computes and returns that dtype, keeps
       float32 variables, round-trips the policy through its config, and,
       given the float32 layer's weights, stays within `mixed_precision_atol`
       (relative to the output scale) of the float32 output.

    Returns the float32 layer's eager output as a numpy array.
    """
    input_data = np.asarray(input_data)
    expected_output_shape = tuple(expected_output_shape)

    # 1. Shapes, dtype, weights.
    layer = layer_cls(**init_kwargs)
    output = layer(input_data)
    assert tuple(output.shape) == expected_output_shape, (tuple(output.shape), expected_output_shape)
    assert keras.backend.standardize_dtype(output.dtype) == expected_output_dtype
    reference = _numpy(output)
    assert np.all(np.isfinite(reference)), f"{layer_cls.__name__} gave non-finite outputs"
    symbolic = layer(keras.KerasTensor(input_data.shape, dtype=str(input_data.dtype)))
    assert tuple(symbolic.shape) == expected_output_shape
    if _overrides(layer_cls, "compute_output_shape"):
        assert tuple(layer.compute_output_shape(input_data.shape)) == expected_output_shape
        unknown_batch = tuple(layer.compute_output_shape((None, *input_data.shape[1:])))
        assert unknown_batch == (None, *expected_output_shape[1:]), unknown_batch
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, [w.path for w in layer.trainable_weights]
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, [
            w.path for w in layer.non_trainable_weights
        ]
    if run_training_check and _takes_training(layer):
        trained = layer(input_data, training=True)
        assert tuple(trained.shape) == expected_output_shape
        assert np.all(np.isfinite(_numpy(trained)))
        np.testing.assert_allclose(_numpy(layer(input_data, training=False)), reference, atol=atol, rtol=rtol)

    # 2. Config round trip.
    config = layer.get_config()
    json.dumps(config)  # plain JSON, no tensors or numpy scalars
    clone = layer_cls.from_config(config)
    assert type(clone) is layer_cls
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is layer_cls
    assert revived.get_config() == config
    clone(input_data)  # builds from its config alone, with the same variables
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in layer.weights]
    _copy_weights(layer, clone)
    np.testing.assert_allclose(_numpy(clone(input_data)), reference, atol=atol, rtol=rtol)

    model = None
    if run_saving_check or run_compiled_check:
        model = _functional(layer_cls, init_kwargs, input_data)
        _copy_weights(layer, model.layers[-1])
        eager = _numpy(model(input_data))
        np.testing.assert_allclose(eager, reference, atol=atol, rtol=rtol)

    # 3. Save and reload inside a functional model.
    if run_saving_check:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            reloaded = keras.saving.load_model(path)
        assert type(reloaded.layers[-1]) is layer_cls
        assert reloaded.layers[-1].get_config() == model.layers[-1].get_config()
        np.testing.assert_allclose(_numpy(reloaded(input_data)), eager, atol=1e-6, rtol=1e-6)

    # 4. Eager vs compiled (XLA).
    if run_compiled_check:
        model.compile(jit_compile=True)
        compiled = model.predict(input_data, batch_size=len(input_data), verbose=0)
        np.testing.assert_allclose(compiled, eager, atol=atol, rtol=rtol)

    # 5. Mixed precision.
    if run_mixed_precision_check:
        scale = max(1.0, float(np.abs(reference).max()))
        for policy_name in MIXED_POLICIES:
            mixed = layer_cls(**init_kwargs, dtype=policy_name)
            compute_dtype = mixed.dtype_policy.compute_dtype
            out = mixed(input_data)
            assert keras.backend.standardize_dtype(out.dtype) == compute_dtype, (policy_name, out.dtype)
            assert tuple(out.shape) == expected_output_shape
            for sublayer in mixed._flatten_layers(include_self=True):
                assert sublayer.dtype_policy.name == policy_name, (policy_name, sublayer.name, sublayer.dtype_policy)
            assert mixed.weights == [] or {w.dtype for w in mixed.weights} == {"float32"}, [
                (w.path, w.dtype) for w in mixed.weights
            ]
            mixed_config = mixed.get_config()
            assert layer_cls.from_config(mixed_config).dtype_policy.name == policy_name
            _copy_weights(layer, mixed)
            out = _numpy(keras.ops.cast(mixed(input_data), "float32"))
            assert np.all(np.isfinite(out)), policy_name
            np.testing.assert_allclose(out, reference, atol=mixed_precision_atol * scale, rtol=0, err_msg=policy_name)

    return reference
