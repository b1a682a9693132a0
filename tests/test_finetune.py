"""Fine-tuning: layer-wise learning-rate decay, the frozen warm start, the recipe, train(weights=), predict."""

import json
import os

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest import cli
from keras_nest.errors import InvalidValueError
from keras_nest.training import get_recipe, make_optimizer, train
from keras_nest.training.layer_decay import LayerwiseAdamW, layer_scales


@pytest.mark.parametrize("name", ["nest_nano_16", "vit_nano_16"])
def test_every_variable_has_a_depth_from_stem_to_head(name):
    model = keras_nest.create_model(name)
    depths = model.variable_depths()
    assert set(depths) == {v.path for v in model.weights}
    top = max(depths.values())
    blocks = sum(model.nest_config["depths"]) if name.startswith("nest") else model.model_config["depth"]
    assert top == blocks + 1
    assert depths[model.patch_embedding.projection.kernel.path] == 0
    assert depths[model.head.kernel.path] == depths[model.final_norm.gamma.path] == top


def _one_step(model, optimizer, seed=0):
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(seed)
    before = {v.path: v.numpy().copy() for v in model.trainable_weights}
    model.train_on_batch(rng.normal(size=(8, 16, 16, 3)).astype("float32"), rng.integers(0, 10, 8))
    return {v.path: np.abs(v.numpy() - before[v.path]).max() for v in model.trainable_weights}


def test_layer_decay_scales_each_variables_step():
    model = keras_nest.create_model("nest_nano_16", seed=0)
    scales = layer_scales(model, 0.5)
    optimizer = LayerwiseAdamW(layer_scales=scales, learning_rate=1e-3, weight_decay=0.0)
    moved = _one_step(model, optimizer)
    # Adam's first step moves every element with a gradient by the learning rate: here lr x scale.
    stem, head = model.patch_embedding.projection.kernel.path, model.head.kernel.path
    assert scales[stem] == 0.5 ** 5 and scales[head] == 1.0
    np.testing.assert_allclose([moved[stem], moved[head]], [1e-3 * 0.5 ** 5, 1e-3], rtol=1e-3)


def test_frozen_steps_train_the_head_alone_then_everything():
    model = keras_nest.create_model("nest_nano_16", seed=0)
    head = [v.path for v in model.head.weights]
    optimizer = LayerwiseAdamW(frozen_steps=1, warm_start=head, learning_rate=1e-3, weight_decay=0.05)
    moved = _one_step(model, optimizer)
    assert all(moved[p] > 0 for p in head)
    assert all(change == 0.0 for path, change in moved.items() if path not in head)
    moved = _one_step(model, optimizer, seed=1)
    assert all(change > 0 for change in moved.values())
    restored = LayerwiseAdamW.from_config(optimizer.get_config())
    assert restored.frozen_steps == 1 and restored.warm_start == tuple(head)
    with pytest.raises(InvalidValueError, match="needs the variables to train meanwhile"):
        LayerwiseAdamW(frozen_steps=3)


def test_finetune_recipe_and_its_optimizer():
    recipe = get_recipe("finetune")
    assert (recipe.mixup_alpha, recipe.cutmix_alpha, recipe.layer_decay, recipe.frozen_epochs) == (0, 0, 1, 0)
    assert recipe.base_learning_rate < get_recipe("small").base_learning_rate
    plain = make_optimizer(recipe, 10)
    assert isinstance(plain, keras.optimizers.AdamW) and not isinstance(plain, LayerwiseAdamW)
    model = keras_nest.create_model("nest_nano_16")
    optimizer = make_optimizer(get_recipe("finetune", layer_decay=0.75, frozen_epochs=1.5), 10, model=model)
    assert isinstance(optimizer, LayerwiseAdamW) and optimizer.frozen_steps == 15
    with pytest.raises(InvalidValueError, match="needs the model"):
        make_optimizer(get_recipe("finetune", layer_decay=0.75), 10)
    with pytest.raises(ValueError, match="layer_decay"):
        get_recipe("finetune", layer_decay=1.5)


@pytest.mark.slow
def test_train_from_weights_keeps_their_normalisation_and_a_frozen_backbone(tmp_path):
    source = keras_nest.create_model("nest_nano_16", include_preprocessing=True, pixel_mean=[0.1] * 3,
                                     pixel_std=[0.9] * 3, seed=3)
    path = str(tmp_path / "pretrained.keras")
    source.save(path)
    result = train(model="nest_nano_16", dataset="digits", out=str(tmp_path / "run"), weights=path,
                   recipe="finetune", epochs=1, train_fraction=0.2, image_size=24, tensorboard=False,
                   export=False, verbose=0, recipe_overrides={"frozen_epochs": 1.0})
    tuned = keras_nest.models.load_saved_model(os.path.join(result["out"], "best.keras"))
    assert result["normalization"]["mean"] == [0.1] * 3
    assert tuned.get_config()["pixel_mean"] == [0.1] * 3  # the weights' normalisation, not the data's
    # One frozen epoch: the backbone is the pretrained one (position tables resized 16 -> 24 px).
    np.testing.assert_array_equal(tuned.levels[2].blocks[1].fc2.kernel.numpy(),
                                  source.levels[2].blocks[1].fc2.kernel.numpy())
    assert not np.array_equal(tuned.head.kernel.numpy(), source.head.kernel.numpy())
    with open(os.path.join(str(tmp_path / "run"), "state.json")) as f:
        assert json.load(f)["identity"]["weights"] == path
    # Resuming needs only the run folder: its checkpoint keeps the weights' normalisation.
    os.remove(path)
    resumed = train(out=str(tmp_path / "run"), resume=True, epochs=2, tensorboard=False, export=False, verbose=0)
    assert resumed["epochs"] == 2 and resumed["normalization"]["mean"] == [0.1] * 3


def test_cli_predict_builds_a_named_model_with_weights(tmp_path, capsys):
    source = keras_nest.create_model("nest_nano_16", num_classes=3, include_preprocessing=True,
                                     class_names=["cat", "dog", "fox"])
    path = str(tmp_path / "m.keras")
    source.save(path)
    image = tmp_path / "a.png"
    keras.utils.save_img(image, np.full((20, 20, 3), 128, "uint8"))
    assert cli.main(["predict", str(image), "--model", "nest_nano_16", "--weights", path, "--top-k", "2"]) == 2
    assert "head predicts 3 classes: give create_model num_classes=3" in capsys.readouterr().err
    assert cli.main(["predict", str(image), "--model-path", path, "--model", "nest_nano_16"]) == 2
    assert "either --model-path FILE or --model NAME" in capsys.readouterr().err


def test_cli_train_passes_weights_and_the_fine_tuning_fields(monkeypatch):
    import keras_nest.training.trainer as trainer

    seen = {}
    monkeypatch.setattr(trainer, "train", lambda **kwargs: seen.update(kwargs) or {"test_accuracy": 0.5})
    assert cli.main(["train", "--model", "nest_tiny_imagenet", "--weights", "imagenet", "--recipe", "finetune",
                     "--layer-decay", "0.75", "--frozen-epochs", "1"]) == 0
    assert (seen["weights"], seen["recipe"]) == ("imagenet", "finetune")
    assert seen["recipe_overrides"] == {"layer_decay": 0.75, "frozen_epochs": 1.0}


def test_cli_predict_refuses_a_named_model_without_weights_or_normalisation(tmp_path, capsys):
    image = tmp_path / "a.png"
    keras.utils.save_img(image, np.full((20, 20, 3), 128, "uint8"))
    assert cli.main(["predict", str(image), "--model", "nest_nano_16"]) == 2
    assert "--model needs --weights" in capsys.readouterr().err
    path = str(tmp_path / "plain.weights.h5")
    keras_nest.create_model("nest_nano_16").save_weights(path)  # no preprocessing inside
    assert cli.main(["predict", str(image), "--model", "nest_nano_16", "--weights", path]) == 2
    assert "carry no input normalisation: pass --dataset NAME" in capsys.readouterr().err
