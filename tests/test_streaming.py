"""Streamed `folder:` sources: decoded in the pipeline, bad files skipped and counted, bounded memory."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from keras_nest import data
from keras_nest.data.examples import StreamedExamples
from keras_nest.data.streaming import FileList, file_dataset
from keras_nest.data.transforms import ImageTransform, eval_image, train_image

HERE = os.path.dirname(os.path.abspath(__file__))


def _write(path, image, fmt="png"):
    path.parent.mkdir(parents=True, exist_ok=True)
    encode = tf.io.encode_png if fmt == "png" else tf.io.encode_jpeg
    path.write_bytes(encode(image).numpy())


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """Three classes of varied sizes and channels, plus every kind of bad file."""
    root = tmp_path_factory.mktemp("messy")
    rng = np.random.default_rng(0)
    for label, name in enumerate(("ants", "bees", "wasps")):
        for i in range(6):
            size = (20 + 7 * i, 30 + 5 * label)
            _write(root / "train" / name / f"{i}.png", rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        _write(root / "test" / name / "0.jpg", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8), fmt="jpeg")
    _write(root / "train" / "ants" / "gray.png", np.full((16, 16, 1), 90, np.uint8))  # 1 channel
    _write(root / "train" / "bees" / "alpha.png", np.full((16, 16, 4), 200, np.uint8))  # 4 channels
    (root / "train" / "wasps" / "empty.png").write_bytes(b"")
    (root / "train" / "wasps" / "text.jpg").write_text("not an image at all")
    good = tf.io.encode_jpeg(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).numpy()
    (root / "train" / "wasps" / "truncated.jpg").write_bytes(good[: len(good) // 3])  # valid header, corrupt body
    return root


def test_streamed_pixels_are_the_in_memory_ones_and_bad_files_are_counted(messy, capfd):
    name = f"folder:{messy}"
    examples, info = data.load_examples(name, "train", image_size=16)
    assert isinstance(examples, StreamedExamples) and len(examples) == 23 and info.num_examples["train"] == 23
    batches = list(examples.dataset(info.num_classes, batch_size=8))
    images = np.concatenate([x.numpy() for x, _ in batches])
    labels = np.concatenate([y.numpy().argmax(1) for _, y in batches])
    assert images.shape == (20, 16, 16, 3) and examples.skipped.count == 3
    assert "skipped 3 of 23 images" in capfd.readouterr().err
    with pytest.warns(UserWarning, match="Skipped 3 unreadable"):
        arrays = data.load_arrays(name, "train", image_size=16)
    np.testing.assert_array_equal(images, arrays["images"].astype(np.float32))  # the same resize, raw pixels
    np.testing.assert_array_equal(labels, arrays["labels"])
    np.testing.assert_array_equal(images[labels == 0][-1], 90)  # gray replicated to RGB
    list(examples.dataset(info.num_classes, batch_size=8))  # each pass counts its own skips
    assert examples.skipped.count == 6


def test_load_dataset_streams_folders_normalised_and_shuffled_per_pass(messy):
    name = f"folder:{messy}"
    info = data.dataset_info(name, image_size=16)
    ds = data.load_dataset(name, "train", image_size=16, batch_size=32, seed=3)
    first, second = (np.concatenate([y.numpy().argmax(1) for _, y in ds]) for _ in range(2))
    again = np.concatenate([y.numpy().argmax(1) for _, y in data.load_dataset(name, "train", image_size=16,
                                                                            batch_size=32, seed=3)])
    assert not np.array_equal(first, second) and np.array_equal(first, again)  # new order per pass, seeded
    x, _ = next(iter(data.load_dataset(name, "test", image_size=16, batch_size=3)))
    raw = data.load_arrays(name, "test", image_size=16)["images"] / 255.0
    np.testing.assert_allclose(x.numpy(), (raw - np.array(info.mean)) / np.array(info.std), atol=1e-5)


def test_epoch_stream_resumes_with_the_same_files(messy):
    files = data.folder.file_lists(str(messy))[1]["train"]
    transform = ImageTransform((16, 16), train_crop_min_area=0.3)

    def batches(first, count):
        ds = file_dataset(files, 3, transform, batch_size=6, training=True, seed=5, first_epoch=first)
        return [(x.numpy(), y.numpy()) for x, y in ds.take(count)]

    # 23 files listed, 20 readable: each pass is topped up to 23 images (the first 3 readable ones again), so a
    # pass is the ceil(23 / 6) = 4 batches that Keras' steps_per_epoch counts, and epoch k is pass k.
    whole = batches(0, 12)
    assert [len(y) for _, y in whole] == [6, 6, 6, 5] * 3
    first_pass = np.concatenate([y.argmax(1) for _, y in whole[:4]])
    np.testing.assert_array_equal(first_pass[20:], first_pass[:3])
    assert sorted(first_pass[:20].tolist()) == sorted(
        files.labels[[not p.endswith(("empty.png", "text.jpg", "truncated.jpg")) for p in files.paths]].tolist())
    for (x, y), (x2, y2) in zip(whole[4:], batches(1, 8)):
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(x, x2)  # crops too: stateless, from (seed, pass, file)
    assert not np.array_equal(whole[0][1], whole[4][1])  # a new order every pass


def test_skip_counts_survive_partial_passes_and_a_pass_without_images_fails(messy, tmp_path, capfd):
    examples, info = data.load_examples(f"folder:{messy}", "train", image_size=16)
    ds = examples.dataset(info.num_classes, batch_size=4)
    next(iter(ds))  # a pass stopped early counts nothing
    assert examples.skipped.count == 0
    list(ds)
    assert examples.skipped.count == 3 and "skipped 3 of 23" in capfd.readouterr().err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"")
    files = FileList((str(tmp_path / "junk" / "a.png"),), np.zeros(1, np.int64), str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError, match="No readable image in a pass over"):
        next(iter(file_dataset(files, 1, ImageTransform((8, 8)), training=True, first_epoch=0)))
    with pytest.raises(ValueError, match=r"must be in 0..0; got \[0, 1\]"):
        file_dataset(FileList(("a", "b"), np.array([0, 1])), 1, ImageTransform((8, 8)))


def test_grayscale_streams_decode_every_format(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.gif").write_bytes(_gif_bytes(image))
    _write(tmp_path / "a" / "y.png", image)
    examples, info = data.load_examples(f"folder:{tmp_path}", "train", image_size=8, channels=1, holdout=0.0)
    x, _ = next(iter(examples.dataset(info.num_classes, 4)))
    assert x.shape == (2, 8, 8, 1) and examples.skipped.count == 0
    assert data.images.read_image(tmp_path / "a" / "x.gif", channels=1).shape == (12, 10, 1)


def _gif_bytes(image):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="GIF")
    return buffer.getvalue()


def test_crops_follow_the_official_pipeline():
    image = tf.constant(np.arange(300 * 400 * 3).reshape(300, 400, 3) % 251, tf.uint8)
    view = eval_image(image, ImageTransform((224, 224), crop_pct=0.875))
    assert view.shape == (224, 224, 3) and view.dtype == tf.uint8
    # Short side to 256, long side 341, then the centre 224: the left edge is cut.
    resized = tf.image.resize(tf.cast(image, tf.float32), (256, 341), method="bicubic", antialias=True)
    expected = tf.cast(tf.clip_by_value(tf.round(resized[16:240, 58:282]), 0, 255), tf.uint8)
    np.testing.assert_array_equal(view.numpy(), expected.numpy())
    plain = eval_image(image, ImageTransform((32, 32)))
    np.testing.assert_array_equal(plain.numpy(), data.images.resize_images(image.numpy()[None], (32, 32))[0])
    crops = [train_image(image, ImageTransform((64, 64), train_crop_min_area=0.05), tf.constant([1, s], tf.int64))
             for s in range(6)]
    assert all(c.shape == (64, 64, 3) for c in crops)
    assert len({c.numpy().tobytes() for c in crops}) == 6  # a new crop per seed
    np.testing.assert_array_equal(crops[0].numpy(), train_image(
        image, ImageTransform((64, 64), train_crop_min_area=0.05), tf.constant([1, 0], tf.int64)).numpy())


def test_bad_folders_get_clear_errors(tmp_path):
    (tmp_path / "cats").mkdir()
    _write(tmp_path / "cats" / "a.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "dogs").mkdir()
    with pytest.raises(ValueError, match=r"Class folder\(s\) \['dogs'\].*hold no training image files"):
        data.load_dataset(f"folder:{tmp_path}", image_size=8)
    _write(tmp_path / "dogs" / "b.png", np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="different sizes; pass image_size"):
        data.load_dataset(f"folder:{tmp_path}", holdout=0.0)
    with pytest.raises(ValueError, match="Unknown split 'validation'"):
        data.load_dataset(f"folder:{tmp_path}", "validation", image_size=8)
    with pytest.raises(ValueError, match="crop_pct must be a finite number > 0 and <= 1"):
        ImageTransform((8, 8), crop_pct=0.0)
    assert FileList(("a",), np.zeros(1, np.int64)).shard(1, 0).paths == ("a",)


_RSS_SCRIPT = textwrap.dedent("""
    import json, sys, psutil, numpy as np, tensorflow as tf
    from keras_nest import data
    name, size = sys.argv[1], int(sys.argv[2])
    examples, info = data.load_examples(name, "train", image_size=size)
    process = psutil.Process()
    before = process.memory_info().rss
    peak = before
    for _ in range(2):
        for x, y in examples.dataset(info.num_classes, batch_size=32, training=True):
            peak = max(peak, process.memory_info().rss)
    print(json.dumps({"files": len(examples), "growth_mb": (peak - before) / 2**20,
                      "labels": np.bincount(examples.labels).tolist(), "test": info.num_examples["test"]}))
""")


@pytest.mark.slow
def test_streaming_memory_does_not_grow_with_the_folder(tmp_path):
    rng = np.random.default_rng(0)
    growth = {}
    for count in (200, 400):  # per class, 2 classes of 320x320 JPEGs
        root = tmp_path / f"set{count}"
        for label in ("a", "b"):
            for i in range(count):
                _write(root / label / f"{i:04d}.jpg", rng.integers(0, 256, (320, 320, 3), dtype=np.uint8), "jpeg")
        proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, f"folder:{root}", "160"], capture_output=True,
                              text=True, timeout=600, cwd=os.path.dirname(HERE))
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        # The 20% hold-out by path hash: every file in exactly one split, both classes in training.
        assert result["files"] + result["test"] == 2 * count and len(result["labels"]) == 2
        assert 0.1 < result["test"] / (2 * count) < 0.3
        growth[count] = result["growth_mb"]
    # Holding the decoded 160-px images would add 61 MB (uint8) more for the doubled folder.
    assert growth[400] - growth[200] < 30, growth


# --- tfds: records streamed from a prepared data directory -----------------------------------


def test_tfds_records_stream_and_equal_the_in_memory_pixels(tfds_dir):
    name = "tfds:keras_nest_tiny"
    examples, info = data.load_examples(name, "train", image_size=16, data_dir=tfds_dir)
    assert isinstance(examples, StreamedExamples) and len(examples) == 40
    np.testing.assert_array_equal(np.bincount(examples.labels), np.bincount(
        data.load_arrays(name, "train", image_size=16, data_dir=tfds_dir)["labels"]))
    x, y = next(iter(data.load_dataset(name, "test", image_size=16, data_dir=tfds_dir, normalize=False,
                                       batch_size=100)))
    arrays = data.load_arrays(name, "test", image_size=16, data_dir=tfds_dir)
    np.testing.assert_array_equal(x.numpy(), arrays["images"].astype(np.float32))
    np.testing.assert_array_equal(y.numpy().argmax(1), arrays["labels"])
    # A subset keeps its labels; a training pass reshuffles, resumable from (seed, pass).
    part = examples.subset(np.arange(0, 40, 2))
    got = np.concatenate([y.numpy().argmax(1) for _, y in part.dataset(3, 32)])
    np.testing.assert_array_equal(np.sort(got), np.sort(part.labels))
    stream = lambda first: [y.numpy().argmax(1) for _, y in  # noqa: E731
                            examples.dataset(3, 8, training=True, seed=1, epochs=(first, None)).take(10)]
    whole, resumed = stream(0), stream(1)
    np.testing.assert_array_equal(np.concatenate(whole[5:]), np.concatenate(resumed[:5]))
    assert not np.array_equal(np.concatenate(whole[:5]), np.concatenate(whole[5:]))


def test_training_streams_a_tfds_set(tfds_dir, tmp_path, monkeypatch):
    from keras_nest.training import train

    monkeypatch.setenv("TFDS_DATA_DIR", tfds_dir)  # where train() finds prepared sets
    result = train(model="nest_nano_16", dataset="tfds:keras_nest_tiny", image_size=16, epochs=1, batch_size=8,
                   out=str(tmp_path / "run"), tensorboard=False, export=False, verbose=0, jit_compile="off")
    assert (result["train_examples"], result["validation_examples"], result["test_examples"]) == (37, 3, 12)
    assert 0.0 <= result["test_accuracy"] <= 1.0
