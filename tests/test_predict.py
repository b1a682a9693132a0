"""Models that carry their preprocessing and class names, and `keras-nest predict` on them."""

import json
import os

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest import cli
from keras_nest.explain import prepare_images
from keras_nest.predict import image_files, predict_files

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    model = keras_nest.create_model("nest_nano_16", num_classes=3, include_preprocessing=True, pixel_mean=MEAN,
                                    pixel_std=STD, class_names=["cat", "dog", "fox"], seed=0)
    model.save(folder / "best.keras")
    images = folder / "images"
    (images / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    keras.utils.save_img(images / "a.png", rng.integers(0, 256, (16, 16, 3)).astype(np.uint8))
    keras.utils.save_img(images / "nested" / "b.jpg", rng.integers(0, 256, (40, 30, 3)).astype(np.uint8))
    (images / "broken.png").write_bytes(b"not an image")
    (images / "notes.txt").write_text("ignored")
    return model, folder


def test_preprocessing_inside_equals_normalising_outside():
    raw = keras_nest.create_model("nest_nano_16", num_classes=3, include_preprocessing=True, pixel_mean=MEAN,
                                  pixel_std=STD, seed=0)
    plain = keras_nest.create_model("nest_nano_16", num_classes=3, seed=0)
    plain.set_weights(raw.get_weights())  # the preprocessing layer holds no weights
    pixels = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3)).astype(np.float32)
    normalised = (pixels / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    np.testing.assert_allclose(raw.predict(pixels, verbose=0), plain.predict(normalised, verbose=0), atol=1e-5)
    np.testing.assert_allclose(prepare_images(pixels.astype(np.uint8), raw), pixels)
    with pytest.raises(ValueError, match="normalises inside with pixel_mean"):
        prepare_images(pixels.astype(np.uint8), raw, mean=0.5, std=0.25)
    with pytest.raises(ValueError, match="pass the mean and std"):
        prepare_images(pixels.astype(np.uint8), plain)


def test_config_round_trip_and_bad_arguments(saved, tmp_path):
    model, folder = saved
    loaded = keras.saving.load_model(folder / "best.keras")
    assert loaded.class_names == ("cat", "dog", "fox")
    assert loaded.model_config["pixel_mean"] == list(MEAN) and loaded.includes_preprocessing
    with pytest.raises(ValueError, match="one name per class"):
        keras_nest.create_model("nest_nano_16", num_classes=3, class_names=["cat"])
    with pytest.raises(ValueError, match="include_preprocessing=True with them"):
        keras_nest.create_model("nest_nano_16", pixel_mean=0.5)
    with pytest.raises(ValueError, match=r"pixel_std.*\(0, 1\]"):
        keras_nest.create_model("nest_nano_16", include_preprocessing=True, pixel_std=58.4)
    assert keras_nest.create_model("vit_nano_16", include_preprocessing=True).model_config["pixel_std"] == \
        [0.229, 0.224, 0.225]  # ImageNet's by default


def test_predict_files_resizes_like_evaluation_and_skips_unreadable(saved):
    model, folder = saved
    files = image_files([folder / "images"])
    assert [os.path.basename(f) for f in files] == ["a.png", "broken.png", "b.jpg"]
    results = predict_files(model, [folder / "images"], top_k=2)
    by_name = {os.path.basename(r.image): r for r in results}
    assert "Cannot read" in by_name["broken.png"].error
    for name in ("a.png", "b.jpg"):
        top = by_name[name].top_k
        assert len(top) == 2 and top[0][1] >= top[1][1] and {n for n, _ in top} <= {"cat", "dog", "fox"}
    from keras_nest.data.images import read_image, resize_images

    image = resize_images(read_image(files[2])[None], (16, 16)).astype(np.float32)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(model(image)))[0]
    assert by_name["b.jpg"].top_k[0] == ("cat dog fox".split()[int(probabilities.argmax())],
                                         pytest.approx(float(probabilities.max()), abs=1e-6))
    # The imagenet recipe's evaluation view: resize to 16 / 0.875, centre crop.
    from keras_nest.data.transforms import ImageTransform, eval_image

    cropped = eval_image(read_image(files[2]), ImageTransform((16, 16), crop_pct=0.875)).numpy()
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(cropped[None].astype(np.float32))))[0]
    got = predict_files(model, [files[2]], top_k=1, crop_pct=0.875)[0].top_k[0]
    assert got == ("cat dog fox".split()[int(expected.argmax())], pytest.approx(float(expected.max()), abs=1e-6))
    with pytest.raises(ValueError, match="crop_pct must be"):
        predict_files(model, [files[2]], crop_pct=1.5)


def test_cli_predict_prints_json_lines_from_the_model_alone(saved, capsys):
    _, folder = saved
    code = cli.main(["predict", str(folder / "images" / "a.png"), str(folder / "images"), "--model-path",
                     str(folder / "best.keras"), "--top-k", "5"])
    assert code == 0  # no result.json beside the model: names and normalisation come from the model
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert len(lines) == 4 and lines[0]["image"].endswith("a.png") and len(lines[0]["top_k"]) == 3
    assert lines[0]["top_k"] == lines[1]["top_k"]  # the same file, listed twice
    assert "error" in lines[2] and "skipped 1 unreadable file(s) of 4" in captured.err
    assert sum(p for _, p in lines[0]["top_k"]) == pytest.approx(1.0, abs=1e-5)
    assert cli.main(["predict", str(folder / "nowhere"), "--model-path", str(folder / "best.keras")]) == 2
    assert "No image or folder" in capsys.readouterr().err
