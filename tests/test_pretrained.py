"""Weights by name: hub cache, SHA-256 checks, offline errors, fine-tuning loads (no network)."""

import json
import os
import subprocess
import sys

import huggingface_hub  # noqa: E402  (the `hub` extra, installed with `test`)
import huggingface_hub.constants  # noqa: E402
import numpy as np
import pytest

import keras_nest
from hub_fixture import FIXTURE_CONFIG, TIMM_CHECKPOINT, TIMM_IO, add_to_cache
from keras_nest import presets
from keras_nest.convert import load_timm_weights
from keras_nest.errors import ChecksumMismatchError, MissingDependencyError, WeightsNotFoundError
from keras_nest.models import factory
from keras_nest.models.pretrained import file_sha256, hub_declared_sha256

REPO = "keras-nest/nest-fixture"
IO = np.load(TIMM_IO)
MEAN, STD = np.array(presets.IMAGENET_MEAN), np.array(presets.IMAGENET_STD)


def _fixture_preset(sha256):
    weights = {"imagenet": presets.PretrainedWeights(
        repo_id=REPO, filename="model.safetensors", sha256=sha256, layout="timm",
        config=dict(gelu_approximate=False, include_preprocessing=True, pixel_mean=MEAN.tolist(),
                    pixel_std=STD.tolist(), crop_pct=0.875),
        labels="imagenet", source="tools/make_timm_fixture.py")}
    return presets.Preset("nest_fixture", "classifier", "nest", "NestModel", FIXTURE_CONFIG, 0, None,
                          "timm fixture", weights=weights)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An offline hub cache holding the fixture checkpoint, and a preset whose record names it."""
    cache = str(tmp_path / "hub")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", cache)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setitem(presets._BY_NAME, "nest_fixture", _fixture_preset(file_sha256(TIMM_CHECKPOINT)))
    return cache


def _raw_pixels(images):
    """The fixture's normalised images as the 0..255 pixels a model with preprocessing takes."""
    return ((images * STD + MEAN) * 255.0).astype("float32")


def test_named_weights_load_from_the_hub_cache_with_their_preprocessing(hub):
    add_to_cache(hub, REPO, "model.safetensors")
    model = keras_nest.create_model("nest_fixture", weights="imagenet")
    assert model.includes_preprocessing and model.crop_pct == 0.875
    assert model.nest_config["gelu_approximate"] is False
    assert model.class_names is None  # 10 classes: not ImageNet's names
    logits = model.predict(_raw_pixels(IO["images_nhwc"]), verbose=0)
    np.testing.assert_allclose(logits, IO["logits"], atol=1e-4)


def test_checksum_right_wrong_and_declared_by_the_hub(hub, monkeypatch):
    snapshot = add_to_cache(hub, REPO, "model.safetensors")
    assert hub_declared_sha256(snapshot) == file_sha256(TIMM_CHECKPOINT)
    monkeypatch.setitem(presets._BY_NAME, "nest_fixture", _fixture_preset("ab" * 32))
    with pytest.raises(ChecksumMismatchError, match=f"{REPO}/model.safetensors: the file .*not the abab.* "
                                                    "recorded for it. It was not loaded and nothing was deleted"):
        keras_nest.create_model("nest_fixture", weights="imagenet")
    assert os.path.exists(snapshot) and os.path.exists(os.path.realpath(snapshot))
    # No recorded digest: the blob must still hash to the name the hub gave it.
    monkeypatch.setitem(presets._BY_NAME, "nest_fixture", _fixture_preset(None))
    keras_nest.create_model("nest_fixture", weights="imagenet")
    with open(os.path.realpath(snapshot), "r+b") as blob:
        blob.seek(-1, os.SEEK_END)
        blob.write(b"\x00")
    with pytest.raises(ChecksumMismatchError, match="not the .* the hub declared for it"):
        keras_nest.create_model("nest_fixture", weights="imagenet")


def test_offline_without_the_file_names_it_and_says_how_to_place_it(hub):
    with pytest.raises(WeightsNotFoundError) as error:
        keras_nest.create_model("nest_fixture", weights="imagenet")
    message = str(error.value)
    for part in ("'model.safetensors'", f"{REPO!r}", "HF_HUB_OFFLINE is set", hub, f"hf download {REPO} "
                 "model.safetensors", "models--keras-nest--nest-fixture",
                 f"https://huggingface.co/{REPO}/resolve/main/model.safetensors", "weights=<that file's path>"):
        assert part in message, part
    with pytest.raises(WeightsNotFoundError, match="timm/nest_tiny_jx.goog_in1k"):
        factory.fetch_weights(presets.get_preset("nest_tiny_imagenet"), "imagenet")


def test_a_download_goes_through_huggingface_hub(hub, monkeypatch):
    calls = []

    def download(repo_id, filename, revision=None, library_name=None):
        calls.append((repo_id, filename, revision, library_name))
        return add_to_cache(hub, repo_id, filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    keras_nest.create_model("nest_fixture", weights="imagenet")
    assert calls == [(REPO, "model.safetensors", "main", "keras-nest")]


def test_hub_handles_and_bad_names(hub):
    add_to_cache(hub, "org/repo", "model.safetensors")
    add_to_cache(hub, "org/repo", "other/weights.safetensors")
    for handle in ("hf://org/repo", "hf://org/repo/other/weights.safetensors"):
        model = keras_nest.create_model("nest_fixture", weights=handle, include_preprocessing=False,
                                        gelu_approximate=False)
        np.testing.assert_allclose(model.predict(IO["images_nhwc"], verbose=0), IO["logits"], atol=1e-4)
    with pytest.raises(ValueError, match="reads 'hf://ORG/REPO' or 'hf://ORG/REPO/FILE', got 'hf://org'"):
        keras_nest.create_model("nest_fixture", weights="hf://org")
    with pytest.raises(ValueError, match="Unsupported weights file 'model.npz'"):
        keras_nest.create_model("nest_fixture", weights="hf://org/repo/model.npz")
    with pytest.raises(ValueError, match="Unknown weights 'imagenet21k' for 'nest_fixture': its published "
                                         "weights are 'imagenet'"):
        keras_nest.create_model("nest_fixture", weights="imagenet21k")
    with pytest.raises(ValueError, match="Unknown weights 'imagenet' for 'nest_nano_16': its published weights "
                                         "are none"):
        keras_nest.create_model("nest_nano_16", weights="imagenet")


def test_missing_huggingface_hub_says_what_to_install(hub, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'keras-nest\[hub\]'"):
        keras_nest.create_model("nest_fixture", weights="imagenet")


def test_imagenet_presets_name_their_published_weights(monkeypatch):
    records = {name: presets.get_preset(name).weights["imagenet"] for name in
               ("nest_tiny_imagenet", "nest_small_imagenet", "nest_base_imagenet")}
    assert [r.repo_id for r in records.values()] == [f"timm/nest_{s}_jx.goog_in1k" for s in ("tiny", "small", "base")]
    monkeypatch.setattr(factory, "fetch_weights", lambda preset, weights: None)
    monkeypatch.setattr(factory, "load_weights", lambda model, file, make_model, new_head: model)
    model = keras_nest.create_model("nest_tiny_imagenet", weights="imagenet")
    config = model.get_config()
    assert config["class_names"][:2] == ["tench", "goldfish"] and len(config["class_names"]) == 1000
    assert config["pixel_mean"] == list(presets.IMAGENET_MEAN) and config["crop_pct"] == 0.875
    assert config["gelu_approximate"] is False and config["include_preprocessing"] is True
    handle = keras_nest.create_model("nest_tiny_imagenet", weights="hf://timm/nest_tiny_jx.goog_in1k")
    assert handle.get_config()["class_names"] == config["class_names"]  # the published file: the same model
    # Overrides win; a new class count drops the ImageNet names.
    small = keras_nest.create_model("nest_tiny_imagenet", weights="imagenet", num_classes=5,
                                    include_preprocessing=False, input_shape=(64, 64, 3))
    assert small.class_names is None and small.get_config()["pixel_mean"] is None


def test_fine_tuning_keeps_the_backbone_resizes_and_renews_the_head(tmp_path):
    model = keras_nest.create_model("nest_micro_32", weights=TIMM_CHECKPOINT,
                                    num_classes=3, input_shape=(48, 48, 3), **{
                                        k: v for k, v in FIXTURE_CONFIG.items()
                                        if k not in ("num_classes", "input_shape")})
    source = keras_nest.NestModel(**FIXTURE_CONFIG, gelu_approximate=False)
    load_timm_weights(source, TIMM_CHECKPOINT)
    np.testing.assert_array_equal(model.levels[2].blocks[1].fc1.kernel.numpy(),
                                  source.levels[2].blocks[1].fc1.kernel.numpy())
    assert model.levels[0].position_embedding.embedding.shape == (1, 16, 36, 16)  # 4x4 -> 6x6-token blocks
    head = model.head.kernel.numpy()
    assert head.shape == (64, 3) and 0.01 < head.std() < 0.03  # freshly initialised (std 0.02)
    # The same from a .keras file of the source.
    path = str(tmp_path / "source.keras")
    source.save(path)
    again = keras_nest.create_model("nest_micro_32", weights=path, num_classes=3, input_shape=(48, 48, 3),
                                    **{k: v for k, v in FIXTURE_CONFIG.items() if k not in ("num_classes",
                                                                                          "input_shape")})
    assert again.nest_config["gelu_approximate"] is False  # carried from the file
    np.testing.assert_array_equal(again.levels[0].position_embedding.embedding.numpy(),
                                  model.levels[0].position_embedding.embedding.numpy())


def test_a_stem_that_does_not_fit_names_the_tensor_and_the_fix(tmp_path):
    config = {k: v for k, v in FIXTURE_CONFIG.items() if k != "input_shape"}
    with pytest.raises(ValueError, match=r"patch_embed.proj.weight: checkpoint \(16, 3, 2, 2\).*"
                                         r"2x2-pixel patches of 3 channel\(s\): build the model with patch_size=2 "
                                         r"and input_shape=\(height, width, 3\) \(give grayscale images 3"):
        keras_nest.create_model("nest_micro_32", weights=TIMM_CHECKPOINT, input_shape=(32, 32, 1), **config)
    source = keras_nest.create_model("nest_nano_16")
    path = str(tmp_path / "rgb.keras")
    source.save(path)
    with pytest.raises(ValueError, match=r"Shape mismatch for 'patch_embedding/.*kernel'.*1x1-pixel patches of 3 "
                                         r"channel\(s\)"):
        keras_nest.create_model("nest_nano_16", weights=path, input_shape=(16, 16, 1), include_preprocessing=True,
                                pixel_mean=[0.5], pixel_std=[0.5])


@pytest.mark.slow
def test_hf_environment_variables_work_in_a_new_process(tmp_path):
    cache = str(tmp_path / "hub")
    add_to_cache(cache, "org/repo", "model.safetensors")
    env = dict(os.environ, HF_HUB_CACHE=cache, HF_HUB_OFFLINE="1", PYTHONPATH=os.getcwd())
    code = ("import json, keras_nest; m = keras_nest.create_model('nest_micro_32', weights='hf://org/repo', "
            f"gelu_approximate=False, **{json.dumps({k: v for k, v in FIXTURE_CONFIG.items()})}); "
            "print('OK', m.count_params())")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OK" in done.stdout
    env.pop("HF_HUB_CACHE")
    env["HF_HOME"] = str(tmp_path / "empty_home")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "empty_home" in done.stderr and "HF_HUB_OFFLINE is set" in done.stderr


def test_vit_position_embeddings_resize_with_their_class_token(tmp_path):
    from keras_nest.layers.position_embedding import resize_position_embedding

    for pool, lead in (("gap", 0), ("token", 1)):
        source = keras_nest.create_model("vit_nano_16", global_pool=pool, seed=1)
        path = str(tmp_path / f"{pool}.keras")
        source.save(path)
        model = keras_nest.create_model("vit_nano_16", weights=path, input_shape=(32, 32, 3), global_pool=pool)
        old = source.encoder.position_embedding.embedding.numpy()
        new = model.encoder.position_embedding.embedding.numpy()
        assert new.shape == (1, 1, lead + 256, 96)  # an 8x8 patch grid becomes 16x16
        np.testing.assert_allclose(new[:, :, lead:], resize_position_embedding(old[:, :, lead:], (8, 8), (16, 16)),
                                   atol=1e-6)
        if lead:
            np.testing.assert_array_equal(new[:, :, 0], old[:, :, 0])  # the class token's entry is kept


def test_pin_tool_reads_digests_from_hub_metadata(monkeypatch, capsys):
    import importlib.util

    from huggingface_hub.hf_api import BlobLfsInfo, HfApi, RepoSibling

    path = os.path.join(os.path.dirname(__file__), "..", "tools", "pin_pretrained_weights.py")
    spec = importlib.util.spec_from_file_location("pin_pretrained_weights", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def model_info(self, repo_id, revision=None, files_metadata=False):
        assert files_metadata and revision == "main"
        digest = {"tiny": "1", "small": "2", "base": "3"}[repo_id.split("_")[1]] * 64
        siblings = [RepoSibling("config.json", 100, "b" * 40, None),
                    RepoSibling("model.safetensors", 68_000_000, "c" * 40, BlobLfsInfo(68_000_000, digest, 134))]
        return type("Info", (), {"sha": "d" * 40, "siblings": siblings})()

    monkeypatch.setattr(HfApi, "model_info", model_info)
    tool.main()
    printed = capsys.readouterr().out.splitlines()
    assert json.loads(printed[0])["repo_id"] == "timm/nest_base_jx.goog_in1k"
    assert printed[-1] == ('_TIMM_SHA256 = {"base": "' + "3" * 64 + '", "small": "' + "2" * 64 + '", "tiny": "'
                           + "1" * 64 + '"}')


def test_hub_errors_that_are_not_about_the_network(hub, monkeypatch):
    import types

    from huggingface_hub.errors import RemoteEntryNotFoundError, RepositoryNotFoundError

    with pytest.raises(ValueError, match="'org/re po' is not a Hugging Face repository id"):
        keras_nest.create_model("nest_fixture", weights="hf://org/re po")
    response = types.SimpleNamespace(headers={}, status_code=404, request=None, url="https://huggingface.co")
    for error, expected in ((RepositoryNotFoundError("404", response=response), "does not exist or needs access"),
                            (RemoteEntryNotFoundError("404", response=response), "has no file 'model.safetensors'")):
        def download(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
        with pytest.raises(WeightsNotFoundError, match=expected):
            keras_nest.create_model("nest_fixture", weights="hf://org/repo")


def test_a_handle_naming_the_published_file_is_the_published_weights(hub):
    add_to_cache(hub, REPO, "model.safetensors")
    for handle in (f"hf://{REPO}", f"hf://{REPO}/model.safetensors"):
        model = keras_nest.create_model("nest_fixture", weights=handle)
        assert model.includes_preprocessing and model.nest_config["gelu_approximate"] is False
        np.testing.assert_allclose(model.predict(_raw_pixels(IO["images_nhwc"]), verbose=0), IO["logits"], atol=1e-4)
    # Any other timm checkpoint gets timm's exact GELU, and no normalisation it does not record.
    model = keras_nest.create_model("nest_micro_32", weights=TIMM_CHECKPOINT, **FIXTURE_CONFIG)
    assert model.nest_config["gelu_approximate"] is False and not model.includes_preprocessing


def test_h5_weights_of_another_size_and_class_count(tmp_path):
    source = keras_nest.create_model("nest_nano_16", num_classes=3, seed=2)
    path = str(tmp_path / "small.weights.h5")
    source.save_weights(path)
    names = ["a", "b", "c", "d", "e"]
    model = keras_nest.create_model("nest_nano_16", weights=path, num_classes=5, class_names=names,
                                    input_shape=(32, 32, 3))
    np.testing.assert_array_equal(model.levels[2].blocks[0].fc1.kernel.numpy(),
                                  source.levels[2].blocks[0].fc1.kernel.numpy())
    assert model.class_names == tuple(names) and model.head.kernel.shape == (128, 5)
    with pytest.raises(ValueError, match="head predicts 3 classes: give create_model num_classes=3"):
        keras_nest.create_model("nest_nano_16", weights=path)
    vit = keras_nest.create_model("vit_nano_16")
    vit_path = str(tmp_path / "vit.weights.h5")
    vit.save_weights(vit_path)
    with pytest.raises(ValueError, match="loads into a NesT; save a ViT as .keras to resize it"):
        keras_nest.create_model("vit_nano_16", weights=vit_path, input_shape=(32, 32, 3))


def test_a_stem_of_another_width_gets_no_patch_advice(tmp_path):
    source = keras_nest.create_model("nest_nano_16")
    path = str(tmp_path / "wide.keras")
    source.save(path)
    with pytest.raises(ValueError) as error:
        keras_nest.create_model("nest_nano_16", weights=path, embed_dims=(32, 96, 128))
    assert "Shape mismatch for 'patch_embedding" in str(error.value) and "patch_size=" not in str(error.value)
