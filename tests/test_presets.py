"""The preset registry (`keras_nest.presets`): stored sizes, lookups, filters, `name=`."""

import ast
import dataclasses

import keras
import pytest

import keras_nest
import keras_nest.errors as errors_module
import keras_nest.presets as presets_module
from keras_nest.models import count_macs
from keras_nest.presets import KINDS, PRESETS, Preset, get_preset, list_presets, preset_rows

# Keras names given while building each preset once; the three from the issue are explicit.
NAMES = {"nest_nano_16": "my_model", "nest_gan_tiny": "g", "discriminator_16": "d"}


def _build(preset, name):
    if preset.kind == "classifier":
        return keras_nest.create_model(preset.name, name=name)
    if preset.kind == "generator":
        return keras_nest.create_generator(preset.name, name=name)
    return keras_nest.create_discriminator(preset.config["image_size"], name=name)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_stored_sizes_equal_the_built_model(name):
    """Each preset is built exactly once in this file (the ImageNet ones take seconds)."""
    preset = PRESETS[name]
    model = _build(preset, NAMES.get(name, f"built_{name}"))
    try:
        assert model.name == NAMES.get(name, f"built_{name}")  # `name=` reaches the model
        assert model.count_params() == preset.params
        if preset.kind == "classifier":
            assert round(count_macs(model) / 1e9, 3) == preset.gmacs
            assert tuple(model.input_shape[1:3]) == preset.image_size
        else:
            assert preset.gmacs is None
            assert type(model).__name__ == preset.class_name
    finally:
        del model
        keras.backend.clear_session()


def test_schema_and_baselines_from_stored_values():
    for preset in PRESETS.values():
        assert preset.kind in KINDS and preset.description and "\n" not in preset.description
        assert (preset.gmacs is not None) == (preset.kind == "classifier")
        if preset.matches is None:
            continue
        target = get_preset(preset.matches, preset.kind)
        assert target.family == "nest" and target.image_size == preset.image_size
        tolerance = 0.10 if preset.kind == "classifier" else 0.15
        assert abs(preset.params / target.params - 1) <= tolerance, preset.name
    assert get_preset("vit_nano_16").matches == "nest_nano_16"
    assert get_preset("sagan_32").matches == "nest_gan_32"
    assert get_preset("nest_nano_16").matches is None
    preset = get_preset("nest_nano_16")
    with pytest.raises(TypeError):
        preset.config["num_classes"] = 3  # read-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.params = 0
    with pytest.raises(ValueError, match="kind must be one of"):
        Preset("x", "detector", "nest", "NestModel", {}, 0, None, "x")


def test_lookup_errors():
    models = r"Unknown model 'nest_huge'\. Available models: nest_base_cifar, .*vit_tiny_imagenet\.$"
    with pytest.raises(ValueError, match=models):
        get_preset("nest_huge", "classifier")
    generators = r"Unknown generator 'nest_gan_7'\. Available generators: nest_gan_32, .*sagan_tiny\.$"
    with pytest.raises(ValueError, match=generators):
        get_preset("nest_gan_7", "generator")
    discriminators = r"Unknown discriminator 'nest_nano_16'\. Available discriminators: discriminator_16, "
    with pytest.raises(ValueError, match=discriminators):
        get_preset("nest_nano_16", "discriminator")
    with pytest.raises(ValueError, match=r"Unknown preset 'x'\. Available presets: discriminator_16, "):
        get_preset("x")
    with pytest.raises(TypeError, match="model name must be a string, one of nest_base_cifar"):
        get_preset(3, "classifier")
    with pytest.raises(ValueError, match="kind must be None or one of classifier, generator, discriminator"):
        get_preset("nest_nano_16", "model")
    # The factory's messages come from the same lookup.
    with pytest.raises(ValueError, match="Unknown model 'nest_gan_tiny'"):
        keras_nest.create_model("nest_gan_tiny")
    with pytest.raises(ValueError, match="Unknown generator 'nest_nano_16'"):
        keras_nest.create_generator("nest_nano_16")
    with pytest.raises(TypeError, match="generator name must be a string"):
        keras_nest.create_generator(None)
    with pytest.raises(ValueError, match=r"No discriminator for 48x48 images.*available sizes: \[16, 32, 64\]"):
        keras_nest.create_discriminator(48)


def test_list_presets_filters():
    everything = list_presets()
    assert [p.name for p in everything] == sorted(PRESETS)
    by_kind = {kind: [p.name for p in list_presets(kind)] for kind in KINDS}
    assert sorted(sum(by_kind.values(), [])) == sorted(PRESETS)
    assert by_kind["classifier"] == keras_nest.list_models()
    assert by_kind["generator"] == keras_nest.list_generators()
    assert by_kind["discriminator"] == ["discriminator_16", "discriminator_32", "discriminator_64"]
    assert [p.name for p in list_presets("classifier", "vit")] == keras_nest.list_models("vit")
    assert all(p.name.startswith("vit_") for p in list_presets(family="vit"))
    assert [p.name for p in list_presets("generator", "nest")] == ["nest_gan_32", "nest_gan_64", "nest_gan_small_32",
                                                                   "nest_gan_tiny"]
    assert [p.name for p in list_presets("generator", "sagan")] == keras_nest.list_generators("sagan")
    assert {p.kind for p in list_presets(family="sagan")} == {"generator", "discriminator"}
    assert list_presets("classifier", "sagan") == []
    with pytest.raises(ValueError, match="kind must be None or one of"):
        list_presets("classifiers")


def test_preset_rows_need_no_model():
    rows = {row["name"]: row for row in preset_rows()}
    assert list(rows) == keras_nest.list_models()
    assert rows["nest_tiny_imagenet"] == {
        "name": "nest_tiny_imagenet", "params": 17_057_608, "input_size": "224x224", "gmacs": 5.807,
    }
    generators = preset_rows("generator")
    assert [row["name"] for row in generators] == keras_nest.list_generators()
    assert generators[0] == {"name": "nest_gan_32", "params": 4_419_203, "image_size": "32x32"}
    assert [row["image_size"] for row in preset_rows("discriminator")] == ["16x16", "32x32", "64x64"]


def test_presets_module_imports_only_the_standard_library():
    """keras_nest.errors is the one package module it may import: itself standard-library only."""
    for module, allowed in ((presets_module, {"dataclasses", "types", "typing", "keras_nest.errors"}),
                            (errors_module, set())):
        tree = ast.parse(open(module.__file__).read())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= allowed, (module.__name__, imported)
