"""Tests of keras_nest.data: the loaders, the shapes generator and the input pipeline."""

import ast
import pathlib
import sys
import warnings
import zlib

import numpy as np
import pytest
import tensorflow as tf

from keras_nest import data
from keras_nest.data import cache, digits, generated, shapes_dataset
from keras_nest.data.images import channel_stats


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    # Keep generated sets out of the user's ~/.keras during tests; module
    # scope so that module-scoped fixtures see it too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_NEST_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def _collect(ds):
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds))
    return np.concatenate(xs), np.concatenate(ys)


def _normalise(images, info):
    return (images.astype(np.float32) / 255 - np.array(info.mean)) / np.array(info.std)


# --- digits ---------------------------------------------------------------


def test_digits_batches_shapes_and_dtypes():
    x, y = next(iter(data.load_dataset("digits", batch_size=32)))
    assert x.shape == (32, 16, 16, 3) and x.dtype == tf.float32
    assert y.shape == (32, 10) and y.dtype == tf.float32
    x, _ = next(iter(data.load_dataset("digits", "test", image_size=(12, 20), channels=1)))
    assert x.shape == (32, 12, 20, 1)


def test_digits_split_is_fixed_stratified_and_complete():
    train = data.load_arrays("digits", "train")
    test = data.load_arrays("digits", "test")
    assert len(train["labels"]) == 1437 and len(test["labels"]) == 360
    assert len(train["labels"]) + len(test["labels"]) == 1797
    train_counts = np.bincount(train["labels"], minlength=10)
    test_counts = np.bincount(test["labels"], minlength=10)
    assert train_counts.min() > 0 and test_counts.min() > 0
    # Stratified: every class keeps its 20% share in test, to within one image.
    np.testing.assert_allclose(test_counts, 0.2 * (train_counts + test_counts), atol=1)
    assert train["images"].dtype == np.uint8 and train["images"].shape == (1437, 16, 16, 3)
    assert train["images"].max() == 255 and train["images"].min() == 0
    # The grey value is replicated, not altered, across channels.
    np.testing.assert_array_equal(train["images"][..., 0], train["images"][..., 2])


def test_digits_native_size_keeps_the_raw_values():
    from sklearn.datasets import load_digits

    raw = load_digits()
    native = data.load_arrays("digits", "train", image_size=8, channels=1)
    # Exact: 8x8 is not resized; values 0..16 are scaled to 0..255.
    first = np.flatnonzero(raw.target == native["labels"][0])
    assert any(np.array_equal(np.round(raw.images[i] * 255 / 16), native["images"][0, ..., 0])
               for i in first)


@pytest.mark.parametrize("image_size", [None, 8])
def test_digits_normalisation_gives_zero_mean_unit_std(image_size):
    x, _ = _collect(data.load_dataset("digits", image_size=image_size, batch_size=512,
                                      training=False))
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2), dtype=np.float64), 0, atol=2e-3)
    np.testing.assert_allclose(x.std(axis=(0, 1, 2), dtype=np.float64), 1, atol=2e-3)


def test_digits_documented_constants_match_the_data():
    mean, std = channel_stats(data.load_arrays("digits", "train", channels=1)["images"])
    assert mean[0] == pytest.approx(digits.MEAN, abs=1e-4)
    assert std[0] == pytest.approx(digits.STD, abs=1e-4)


# --- the pipeline -----------------------------------------------------------


def test_one_hot_labels_and_images_match_the_arrays():
    info = data.dataset_info("digits")
    arrays = data.load_arrays("digits", "test")
    x, y = _collect(data.load_dataset("digits", "test", batch_size=50))
    assert set(np.unique(y)) == {0.0, 1.0}
    np.testing.assert_array_equal(y.sum(axis=1), 1)
    np.testing.assert_array_equal(y.argmax(axis=1), arrays["labels"])
    np.testing.assert_allclose(x, _normalise(arrays["images"], info), atol=1e-5)


def _label_epochs(ds, epochs=2):
    """Per-image checksums, epoch by epoch: they identify the order and the content."""
    out = []
    for _ in range(epochs):
        out.append(np.concatenate([x.numpy().reshape(len(x), -1).sum(axis=1) for x, _ in ds]))
    return out


def test_same_seed_same_order_and_content_every_epoch():
    a = data.load_dataset("digits", batch_size=64, seed=3)
    b = data.load_dataset("digits", batch_size=64, seed=3)
    epochs_a, epochs_b = _label_epochs(a), _label_epochs(b)
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    xa, ya = next(iter(a))
    xb, yb = next(iter(b))
    np.testing.assert_array_equal(xa.numpy(), xb.numpy())
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_different_seed_different_order_same_content():
    first = _label_epochs(data.load_dataset("digits", batch_size=64, seed=0), 1)[0]
    other = _label_epochs(data.load_dataset("digits", batch_size=64, seed=1), 1)[0]
    assert not np.array_equal(first, other)
    np.testing.assert_allclose(np.sort(first), np.sort(other), rtol=1e-6)


def test_training_reshuffles_every_epoch_and_test_keeps_order():
    epoch1, epoch2 = _label_epochs(data.load_dataset("digits", batch_size=64))
    assert not np.array_equal(epoch1, epoch2)
    np.testing.assert_allclose(np.sort(epoch1), np.sort(epoch2), rtol=1e-6)
    test1, test2 = _label_epochs(data.load_dataset("digits", "test", batch_size=64))
    np.testing.assert_array_equal(test1, test2)


def test_batching_options():
    sizes = [len(y) for _, y in data.load_dataset("digits", "test", batch_size=100)]
    assert sizes == [100, 100, 100, 60]
    sizes = [len(y) for _, y in data.load_dataset("digits", "test", batch_size=100,
                                                  drop_remainder=True)]
    assert sizes == [100, 100, 100]
    x, _ = next(iter(data.load_dataset("digits", "test", num_examples=10, batch_size=100,
                                       mean=0.0, std=1.0)))
    assert x.shape[0] == 10 and float(tf.reduce_min(x)) >= 0 and float(tf.reduce_max(x)) <= 1


# --- shapes -----------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_train():
    return data.load_arrays("shapes", "train")


@pytest.fixture(scope="module")
def shapes_test():
    return data.load_arrays("shapes", "test")


def test_shapes_generator_outputs(shapes_test):
    d = shapes_test
    n = 1000
    assert d["images"].shape == (n, 32, 32, 3) and d["images"].dtype == np.uint8
    assert d["labels"].shape == (n,) and d["labels"].dtype == np.int64
    assert d["boxes"].shape == (n, 4) and np.issubdtype(d["boxes"].dtype, np.integer)
    assert d["masks"].shape == (n, 32, 32) and d["masks"].dtype == bool
    num_classes = len(d["class_names"])
    assert num_classes >= 6
    counts = np.bincount(d["labels"], minlength=num_classes)
    assert counts.max() - counts.min() <= 1  # balanced


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_boxes_are_tight_and_objects_inside(size):
    d = data.generate_shapes(300, size, seed=5)
    masks, boxes = d["masks"], d["boxes"]
    assert masks.sum(axis=(1, 2)).min() > 0.02 * size * size  # non-empty, not a speck
    x0, y0, x1, y1 = boxes.T
    # The object is wholly inside the image: its mask never touches the border.
    assert x0.min() >= 1 and y0.min() >= 1 and x1.max() <= size - 1 and y1.max() <= size - 1
    assert np.all(x1 > x0) and np.all(y1 > y0)
    for m, (a, b, c, e) in zip(masks, boxes):
        assert m[b:e, a:c].sum() == m.sum()  # the box holds the whole mask ...
        # ... and is tight: every edge row and column of the box has mask pixels.
        assert m[b, a:c].any() and m[e - 1, a:c].any() and m[b:e, a].any() and m[b:e, c - 1].any()


def test_shapes_are_seeded():
    a = data.generate_shapes(40, 32, seed=1)
    b = data.generate_shapes(40, 32, seed=1)
    c = data.generate_shapes(40, 32, seed=2)
    for key in ("images", "labels", "boxes", "masks"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["images"], c["images"])


def test_shapes_splits_differ_and_ignore_the_shuffle_seed(shapes_train, shapes_test):
    assert not np.array_equal(shapes_train["images"][:10], shapes_test["images"][:10])
    x0, _ = next(iter(data.load_dataset("shapes", "test", seed=0, batch_size=16)))
    x1, _ = next(iter(data.load_dataset("shapes", "test", seed=9, batch_size=16)))
    np.testing.assert_array_equal(x0.numpy(), x1.numpy())


def test_shapes_unshuffled_dataset_is_aligned_with_boxes_and_masks(shapes_test):
    info = data.dataset_info("shapes")
    x, y = _collect(data.load_dataset("shapes", "test", batch_size=250))
    np.testing.assert_array_equal(y.argmax(axis=1), shapes_test["labels"])
    np.testing.assert_allclose(x, _normalise(shapes_test["images"], info), atol=1e-4)
    assert len(shapes_test["masks"]) == len(x)


def test_shapes_normalisation_gives_zero_mean_unit_std():
    x, _ = _collect(data.load_dataset("shapes", batch_size=1000, training=False))
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2), dtype=np.float64), 0, atol=2e-3)
    np.testing.assert_allclose(x.std(axis=(0, 1, 2), dtype=np.float64), 1, atol=2e-3)
    x, _ = _collect(data.load_dataset("shapes", batch_size=1000, training=False, channels=1))
    assert x.shape[-1] == 1
    assert abs(x.mean(dtype=np.float64)) < 2e-3 and abs(x.std(dtype=np.float64) - 1) < 2e-3


def test_shapes_defeat_a_linear_model(shapes_train, shapes_test):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    n_train = 3000
    x = shapes_train["images"][:n_train].reshape(n_train, -1).astype(np.float32) / 255
    xt = shapes_test["images"].reshape(len(shapes_test["images"]), -1).astype(np.float32) / 255
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
    # One BLAS thread: on a shared machine more threads only slow lbfgs down.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=1e-3, max_iter=100).fit((x - mu) / sd,
                                                           shapes_train["labels"][:n_train])
    accuracy = clf.score((xt - mu) / sd, shapes_test["labels"])
    chance = 1 / len(shapes_test["class_names"])
    assert accuracy < 0.45, accuracy
    assert accuracy < 2.5 * chance, accuracy


def _mask_crops(masks, boxes, size=16):
    """Each mask cropped to its box and area-resized to `size` x `size`."""
    out = np.empty((len(masks), size, size), np.float32)
    for i, (m, (x0, y0, x1, y1)) in enumerate(zip(masks, boxes)):
        crop = m[y0:y1, x0:x1].astype(np.float32)
        h, w = crop.shape
        big = np.repeat(np.repeat(crop, size, axis=0), size, axis=1)
        out[i] = big.reshape(size, h, size, w).mean(axis=(1, 3))
    return out.reshape(len(masks), -1)


def test_shape_labels_agree_with_mask_shapes(shapes_train, shapes_test):
    n_train = 2000
    train = _mask_crops(shapes_train["masks"][:n_train], shapes_train["boxes"][:n_train])
    test = _mask_crops(shapes_test["masks"], shapes_test["boxes"])
    labels = shapes_train["labels"][:n_train]
    centroids = np.stack([train[labels == k].mean(axis=0)
                          for k in range(len(shapes_train["class_names"]))])
    predicted = ((test[:, None] - centroids[None]) ** 2).sum(axis=-1).argmin(axis=1)
    accuracy = (predicted == shapes_test["labels"]).mean()
    assert accuracy > 0.8, accuracy


def test_shapes_disk_cache_round_trip(tmp_path):
    root = tmp_path / "shapes_cache"
    # a million pixels: large enough to be cached on disk
    args = (data.generate_shapes, "shapes-test", 1024, 32, 12345)
    first = generated.generate(*args, str(root))
    files = list(root.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    generated.generate.cache_clear()
    again = generated.generate(*args, str(root))  # now read from disk
    for key in ("images", "labels", "boxes", "masks"):
        np.testing.assert_array_equal(first[key], again[key])
    files[0].write_bytes(b"not an npz")  # a corrupt file is rebuilt, not fatal
    generated.generate.cache_clear()
    rebuilt = generated.generate(*args, str(root))
    np.testing.assert_array_equal(first["images"], rebuilt["images"])
    assert [p.name for p in root.iterdir()] == [files[0].name]  # no temp files left
    generated.generate.cache_clear()


def test_cache_dir_resolution(monkeypatch):
    monkeypatch.setenv("KERAS_NEST_CACHE", "/tmp/kn")
    assert cache.cache_root() == pathlib.Path("/tmp/kn")
    monkeypatch.setenv("KERAS_NEST_CACHE", "off")
    assert cache.cache_root() is None
    monkeypatch.delenv("KERAS_NEST_CACHE")
    assert cache.cache_root() == pathlib.Path("~/.keras/keras_nest").expanduser()
    assert cache.cache_root(False) is None


def test_load_arrays_returns_copies():
    a = data.load_arrays("digits", "test")
    a["images"][:] = 0
    b = data.load_arrays("digits", "test")
    assert b["images"].max() == 255


# --- dataset_info -------------------------------------------------------------


def test_dataset_info():
    info = data.dataset_info("digits")
    assert info.num_classes == 10 and info.class_names == tuple("0123456789")
    assert info.image_size == (8, 8) and info.default_image_size == (16, 16)
    assert info.num_examples == {"train": 1437, "test": 360}
    assert info.mean == (digits.MEAN,) * 3 and info.std == (digits.STD,) * 3
    shapes = data.dataset_info("shapes", image_size=64)
    assert shapes.image_size == (64, 64) and shapes.num_classes == len(shapes.class_names)
    assert shapes.num_examples["train"] == 5000 and len(shapes.mean) == 3
    assert data.dataset_info("shapes", channels=1).std == shapes_dataset.GRAY_STD
    assert data.dataset_info("digits").as_dict()["num_classes"] == 10


# --- folders ------------------------------------------------------------------


def _write_image(path, value, size=(6, 6), fmt="png"):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((*size, 3), np.uint8)
    image[...] = value
    encode = tf.io.encode_png if fmt == "png" else tf.io.encode_jpeg
    path.write_bytes(encode(image).numpy())


def test_folder_with_train_and_test_subfolders(tmp_path):
    colours = {"apple": (200, 0, 0), "banana": (0, 200, 0), "cherry": (0, 0, 200)}
    for split, count in (("train", 4), ("test", 2)):
        for name, colour in colours.items():
            for i in range(count):
                _write_image(tmp_path / split / name / f"{i}.png", colour)
    _write_image(tmp_path / "train" / "banana" / "photo.jpg", (0, 200, 0), fmt="jpeg")
    (tmp_path / "train" / "banana" / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "train" / "cherry" / "notes.txt").write_text("ignored: not an image")

    with pytest.warns(UserWarning, match=r"Skipped 1 unreadable image file\(s\).*broken\.png"):
        train = data.load_arrays(f"folder:{tmp_path}", "train")
    assert train["class_names"] == ["apple", "banana", "cherry"]
    np.testing.assert_array_equal(np.bincount(train["labels"]), [4, 5, 4])
    assert train["images"].shape == (13, 6, 6, 3)
    for label, colour in enumerate(colours.values()):
        mean_colour = train["images"][train["labels"] == label].mean(axis=(0, 1, 2))
        np.testing.assert_allclose(mean_colour, colour, atol=3)  # jpeg is lossy

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the test split has nothing to skip
        test = data.load_arrays(f"folder:{tmp_path}", "test")
    np.testing.assert_array_equal(np.bincount(test["labels"]), [2, 2, 2])

    info = data.dataset_info(f"folder:{tmp_path}")
    assert info.num_classes == 3 and info.image_size == (6, 6)
    assert info.num_examples == {"train": 14, "test": 6}  # files found, broken one included
    x, y = next(iter(data.load_dataset(f"folder:{tmp_path}", "test", image_size=16,
                                       batch_size=6)))
    assert x.shape == (6, 16, 16, 3) and y.shape == (6, 3)
    np.testing.assert_array_equal(y.numpy().argmax(axis=1), [0, 0, 1, 1, 2, 2])


def test_folder_holdout_split_is_a_deterministic_partition(tmp_path):
    for name in ("a", "b", "c"):
        for i in range(20):
            _write_image(tmp_path / name / f"img{i:02d}.png", 10 * i, size=(4 + i % 3, 5))
    with pytest.raises(ValueError, match="different sizes"):
        data.load_arrays(f"folder:{tmp_path}", "train")
    train = data.load_arrays(f"folder:{tmp_path}", "train", image_size=5)
    test = data.load_arrays(f"folder:{tmp_path}", "test", image_size=5)
    assert len(train["labels"]) + len(test["labels"]) == 60
    expected_test = sum(zlib.crc32(f"{n}/img{i:02d}.png".encode()) % 10_000 < 2_000
                        for n in "abc" for i in range(20))
    assert len(test["labels"]) == expected_test and 0 < expected_test < 30
    again = data.load_arrays(f"folder:{tmp_path}", "test", image_size=5)
    np.testing.assert_array_equal(test["images"], again["images"])
    assert train["images"].shape[1:] == (5, 5, 3)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="No class sub-folders"):
        data.load_arrays(f"folder:{tmp_path}")
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    (tmp_path / "dogs" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="No image files"):
        data.load_arrays(f"folder:{tmp_path}")
    (tmp_path / "cats" / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"Class folder\(s\) \['dogs'\].*hold no training image files"):
        data.load_arrays(f"folder:{tmp_path}", holdout=0.0)
    (tmp_path / "dogs" / "bad.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"No readable images.*2 unreadable"):
        data.load_arrays(f"folder:{tmp_path}", holdout=0.0)
    with pytest.raises(ValueError, match="not a directory"):
        data.load_arrays(f"folder:{tmp_path / 'missing'}")


# --- tfds -----------------------------------------------------------------------


def test_tfds_not_installed_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(ImportError) as err:
        data.load_dataset("tfds:cifar10")
    message = str(err.value)
    assert "pip install tensorflow-datasets" in message
    assert "tfds build cifar10" in message and "download=True" in message
    assert "never downloads" in message


def test_tfds_not_prepared_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"tfds build keras_nest_tiny.*{tmp_path}"):
        data.load_arrays("tfds:keras_nest_tiny", data_dir=str(tmp_path))


def test_tfds_prepared_data_loads_in_memory(tfds_dir):
    arrays = data.load_arrays("tfds:keras_nest_tiny", "test", image_size=8, data_dir=tfds_dir)
    assert arrays["images"].shape == (12, 8, 8, 3) and arrays["images"].dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(arrays["labels"]), [4, 4, 4])
    info = data.dataset_info("tfds:keras_nest_tiny", image_size=8, data_dir=tfds_dir)
    assert info.class_names == ("ant", "bee", "wasp") and info.num_examples == {"train": 40, "test": 12}
    assert info.image_size is None  # sizes vary
    with pytest.raises(ValueError, match="differ in size; pass image_size"):
        data.load_arrays("tfds:keras_nest_tiny", "test", data_dir=tfds_dir)


# --- arrays -----------------------------------------------------------------------


def test_from_arrays_uint8_and_float():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 5, 5), dtype=np.uint8)
    y = np.arange(12) % 3
    images, labels = _collect(data.from_arrays(x, y, batch_size=5))
    assert images.shape == (12, 5, 5, 1) and labels.shape == (12, 3)
    np.testing.assert_array_equal(labels.argmax(axis=1), y)  # not shuffled by default
    assert abs(images.mean(dtype=np.float64)) < 1e-4
    assert abs(images.std(dtype=np.float64) - 1) < 1e-3
    images_f, _ = _collect(data.from_arrays(x.astype(np.float32) / 255, y, batch_size=5))
    np.testing.assert_allclose(images_f, images, atol=1e-4)
    rgb, onehot = _collect(data.load_dataset((x, y), training=False, num_classes=5,
                                             image_size=10))
    assert rgb.shape == (12, 10, 10, 3) and onehot.shape == (12, 5)
    arrays = data.load_arrays((x, y), channels=None)
    np.testing.assert_array_equal(arrays["images"][..., 0], x)


def test_array_errors():
    x = np.zeros((4, 3, 3), np.uint8)
    with pytest.raises(ValueError, match="Label 5 at index 2 is out of range for 3 classes"):
        data.from_arrays(x, [0, 1, 5, 1], num_classes=3)
    with pytest.raises(ValueError, match="Label -1 at index 0"):
        data.from_arrays(x, [-1, 1, 2, 1])
    with pytest.raises(ValueError, match=r"Float images must be in \[0, 1\]"):
        data.from_arrays(np.full((4, 3, 3), 2.0), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="empty"):
        data.from_arrays(np.zeros((0, 3, 3), np.uint8), [])
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        data.from_arrays(x, [0, 1, 0])


# --- bad input ----------------------------------------------------------------------


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="Unknown dataset 'mnist'") as err:
        data.load_dataset("mnist")
    for valid in ("'digits'", "'shapes'", "tfds:NAME", "folder:PATH"):
        assert valid in str(err.value)
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.dataset_info("tfds:")


@pytest.mark.parametrize("image_size", [0, -4, (16, 0)])
def test_impossible_image_size(image_size):
    with pytest.raises(ValueError, match="image_size must be positive"):
        data.load_dataset("digits", image_size=image_size)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="Unknown split 'valid'.*train, test"):
        data.load_arrays("digits", "valid")
    with pytest.raises(ValueError, match="batch_size"):
        data.load_dataset("digits", batch_size=0)
    with pytest.raises(ValueError, match="num_examples"):
        data.load_dataset("digits", num_examples=0)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        data.load_dataset("digits", channels=2)
    with pytest.raises(ValueError, match=">= 16"):
        data.load_arrays("shapes", image_size=8)
    with pytest.raises(TypeError, match="holdout"):
        data.load_dataset("digits", holdout=0.5)
    with pytest.raises(ValueError, match="num_examples must be positive"):
        data.generate_shapes(0)


def test_core_modules_import_only_tensorflow_keras_numpy():
    # Optional packages (scikit-learn, tensorflow-datasets) are imported
    # inside the functions that need them, never at module level.
    allowed = {"numpy", "tensorflow", "keras", "keras_nest"}
    package = pathlib.Path(data.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, (path.name, name)
