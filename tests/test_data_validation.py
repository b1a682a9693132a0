"""Bad arguments to `keras_nest.data` fail at the public entry with a clear message.

Every error is a TypeError (wrong kind of value) or ValueError (right kind,
wrong value) naming the argument and the value given; none comes from deep
inside numpy or TensorFlow, and none builds nonsense (a billion classes
from one stray label).
"""

import numpy as np
import pytest

from keras_nest import data
from keras_nest.data.images import as_image_batch, check_image_size
from keras_nest.data.labels import MAX_CLASSES, check_labels
from keras_nest.data.pipeline import make_dataset

X = np.random.default_rng(0).integers(0, 256, (6, 4, 4), dtype=np.uint8)
Y = np.array([0, 1, 2, 0, 1, 2])


# --- how many classes the labels stand for ------------------------------------------


def test_one_huge_label_is_not_a_billion_classes():
    y = np.array([0, 1, 2, 0, 1, 10**9])
    with pytest.raises(ValueError, match=r"largest label is 1000000000.*Pass num_classes="):
        data.from_arrays(X, y)
    with pytest.raises(ValueError, match=r"would mean 1000000001 classes.*class_names="):
        data.load_dataset((X, y), batch_size=2)
    with pytest.raises(ValueError, match="Cannot infer the number of classes"):
        data.dataset_info((X, y))


def test_labels_that_leave_a_class_out_are_not_inferred():
    with pytest.raises(ValueError, match=r"only 2 distinct label\(s\) occur in 6.*class 1 never"):
        data.from_arrays(X, [0, 2, 2, 0, 0, 2])
    # Explicit counts and names say what the labels could not.
    _, labels = next(iter(data.from_arrays(X, [0, 2, 2, 0, 0, 2], num_classes=4, batch_size=6)))
    assert labels.shape == (6, 4)
    arrays = data.load_arrays((X, [0, 2, 2, 0, 0, 2]), class_names=["a", "b", "c"])
    assert arrays["class_names"] == ["a", "b", "c"]
    assert data.dataset_info((X, Y), class_names=("x", "y", "z", "w")).num_classes == 4


def test_explicit_num_classes_is_bounded_and_typed():
    with pytest.raises(ValueError, match=rf"num_classes must be an int in \[1, {MAX_CLASSES}\], got 1000000000"):
        data.from_arrays(X, Y, num_classes=10**9)
    with pytest.raises(ValueError, match=r"num_classes must be an int in \[1, \d+\], got 0"):
        data.from_arrays(X, Y, num_classes=0)
    with pytest.raises(TypeError, match=r"num_classes must be an int.*3.0 \(float\)"):
        data.from_arrays(X, Y, num_classes=3.0)
    with pytest.raises(ValueError, match="num_classes must be an int"):
        check_labels([0, 1], num_classes=-2)


def test_class_names_are_checked():
    with pytest.raises(TypeError, match="class_names must be a list or tuple.*'abc'"):
        data.from_arrays(X, Y, class_names="abc")
    with pytest.raises(ValueError, match=r"Got 2 class_names for 3 classes \(num_classes=3\)"):
        data.from_arrays(X, Y, num_classes=3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="Label 2 at index 2 is out of range for 2 classes"):
        data.from_arrays(X, Y, class_names=["a", "b"])
    with pytest.raises(ValueError, match="class_names must be distinct; 'a'"):
        data.from_arrays(X, Y, class_names=["a", "b", "a"])


def test_array_pairs_and_images_are_checked():
    with pytest.raises(ValueError, match=r"\(images, labels\) pair"):
        data.load_dataset((X, Y, Y))
    with pytest.raises(ValueError, match="numpy cannot stack"):
        as_image_batch([np.zeros((4, 4)), np.zeros((5, 5))])
    with pytest.raises(ValueError, match="integer or float array, got dtype bool"):
        data.from_arrays(X > 0, Y)
    with pytest.raises(ValueError, match=r"labels must be a 1-D array.*\(6, 3\)"):
        data.from_arrays(X, np.eye(3)[Y])


# --- arguments of load_dataset / load_arrays / from_arrays ----------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, r"batch_size must be an int >= 1, got 0"),
    (dict(batch_size=2.5), TypeError, r"batch_size must be an int >= 1, got 2.5 \(float\)"),
    (dict(batch_size="8"), TypeError, r"batch_size must be an int >= 1, got '8' \(str\)"),
    (dict(batch_size=True), TypeError, r"batch_size must be an int >= 1, got True \(bool\)"),
    (dict(seed=-1), ValueError, r"seed must be an int in \[0, \d+\], got -1"),
    (dict(seed=1.5), TypeError, r"seed must be an int.*1.5 \(float\)"),
    (dict(seed=None), TypeError, r"seed must be an int.*None \(NoneType\)"),
    (dict(training="False"), TypeError, r"training must be True or False, got 'False' \(str\)"),
    (dict(drop_remainder=1), TypeError, r"drop_remainder must be True or False, got 1 \(int\)"),
    (dict(num_examples=-1), ValueError, r"num_examples must be an int >= 1, got -1"),
    (dict(num_examples=2.0), TypeError, r"num_examples must be an int >= 1, got 2.0 \(float\)"),
    (dict(image_size="16"), TypeError, r"image_size must be an int >= 1 or a \(height, width\) pair.*'16' \(str\)"),
    (dict(image_size=16.0), TypeError, r"image_size must be .*16.0 \(float\)"),
    (dict(image_size=(16, 16, 3)), ValueError, r"image_size must be .*got 3 entries: \(16, 16, 3\)"),
    (dict(image_size=(16, 8.5)), TypeError, r"image_size must be .*\(16, 8.5\)"),
    (dict(image_size=10**6), ValueError, r"image_size must be at most 8192 per side, got 1000000"),
    (dict(channels="3"), TypeError, r"channels must be 1 or 3, got '3' \(str\)"),
    (dict(channels=4), ValueError, r"channels must be 1 or 3, got 4"),
    (dict(split=0), TypeError, r"split must be a split name \(a str\), got 0"),
    (dict(split="valid"), ValueError, r"Unknown split 'valid' for 'digits'; valid splits: train, test"),
    (dict(mean=(0.5, 0.5)), ValueError, r"mean must be one number or 3 \(one per channel\), got 2: \(0.5, 0.5\)"),
    (dict(mean=123.7), ValueError, r"mean must be in \[0, 1\] .*divide 0..255 values by 255.*got 123.7"),
    (dict(mean=float("nan")), ValueError, r"mean must be in \[0, 1\].*got nan"),
    (dict(std=0.0), ValueError, r"std must be in \(0, 1\].*got 0.0"),
    (dict(std=(0.2, -0.1, 0.2)), ValueError, r"std must be in \(0, 1\].*got \(0.2, -0.1, 0.2\)"),
    (dict(std="wide"), TypeError, r"std must be a number or one number per channel, got 'wide' \(str\)"),
    (dict(std=[[0.2, 0.2, 0.2]]), TypeError, r"std must be a number or one number per channel"),
])
def test_load_dataset_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load_dataset("digits", **kwargs)


def test_from_arrays_arguments():
    with pytest.raises(ValueError, match=r"mean must be one number or 1 \(one per channel\), got 3"):
        data.from_arrays(X, Y, mean=(0.5, 0.5, 0.5))
    with pytest.raises(TypeError, match=r"training must be True or False, got 'yes'"):
        data.from_arrays(X, Y, training="yes")
    with pytest.raises(ValueError, match=r"drop_remainder=True with batch_size 32 and only 6 examples"):
        data.from_arrays(X, Y, drop_remainder=True)
    with pytest.raises(TypeError, match="split must be a split name"):
        data.load_dataset((X, Y), split=None)
    with pytest.raises(TypeError, match="channels must be 1 or 3, got 1.0"):
        data.load_arrays((X, Y), channels=1.0)


def test_dataset_names_and_helpers():
    with pytest.raises(TypeError, match=r"Unknown dataset array\(.*\(ndarray\).*\(images, labels\) pair"):
        data.load_dataset(X)
    with pytest.raises(TypeError, match=r"Unknown dataset 3 \(int\)"):
        data.dataset_info(3)
    with pytest.raises(TypeError, match="dataset_slug needs a data set name"):
        data.dataset_slug(("x", "y"))
    with pytest.raises(TypeError, match=r"image_size must be an int >= 1, got \(16, 16\)"):
        data.real_images("digits", (16, 16))
    with pytest.raises(ValueError, match="image_size must be positive"):
        check_image_size((4, -4))


def test_source_options():
    with pytest.raises(TypeError, match=r"data_seed must be an int >= 0, got '1' \(str\)"):
        data.load_arrays("shapes", data_seed="1")
    with pytest.raises(ValueError, match=r"data_seed must be an int >= 0, got -1"):
        data.dataset_info("shapes", data_seed=-1)
    with pytest.raises(TypeError, match=r"cache_dir must be a folder path.*got True \(bool\)"):
        data.load_arrays("shapes", num_examples=4, cache_dir=True)
    with pytest.raises(TypeError, match=r"data_dir must be a folder path.*got 3 \(int\)"):
        data.load_arrays("tfds:mnist", data_dir=3)
    with pytest.raises(TypeError, match="Unknown option"):
        data.load_arrays("shapes", holdout=0.1)


@pytest.mark.parametrize("holdout, error, match", [
    (1.0, ValueError, r"holdout must be a finite number >= 0 and < 1, got 1.0"),
    (-0.1, ValueError, r"holdout must be a finite number >= 0 and < 1, got -0.1"),
    ("0.2", TypeError, r"holdout must be a number >= 0 and < 1, got '0.2' \(str\)"),
])
def test_folder_holdout(tmp_path, holdout, error, match):
    with pytest.raises(error, match=match):
        data.load_arrays(f"folder:{tmp_path}", holdout=holdout)
    with pytest.raises(error, match=match):
        data.dataset_info(f"folder:{tmp_path}", holdout=holdout)


def test_generate_shapes_and_mask_boxes():
    with pytest.raises(TypeError, match=r"num_examples must be an int, got 2.5 \(float\)"):
        data.generate_shapes(2.5)
    with pytest.raises(ValueError, match=r"num_examples must be positive \(an int >= 1\), got -3"):
        data.generate_shapes(-3)
    with pytest.raises(ValueError, match=r"num_examples=1000000000 at image_size 32 would need 3814.7 GiB"):
        data.generate_shapes(10**9)
    with pytest.raises(ValueError, match=r"num_examples=\d+ at image_size 64"):
        data.load_arrays("shapes", image_size=64, num_examples=10**7)
    with pytest.raises(ValueError, match=r"seed must be an int >= 0, got -1"):
        data.generate_shapes(2, seed=-1)
    with pytest.raises(TypeError, match=r"image_size must be an int, got '32'"):
        data.generate_shapes(2, image_size="32")
    with pytest.raises(ValueError, match=r"masks must be boolean \(N, H, W\), got shape \(4, 4\)"):
        data.mask_boxes(np.ones((4, 4), bool))


# --- make_dataset (what the trainer calls) ---------------------------------------------


def test_make_dataset_consistency():
    images = np.zeros((4, 4, 4, 3), np.uint8)
    labels = np.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"labels must be in 0..1 for num_classes=2, got values in \[0, 2\]"):
        make_dataset(images, labels, 2, 0.5, 0.25)
    with pytest.raises(ValueError, match="Got 4 images but 3 labels"):
        make_dataset(images, labels[:3], 3, 0.5, 0.25)
    with pytest.raises(ValueError, match=r"images must be an \(N, H, W, C\) array, got shape \(4, 4, 4\)"):
        make_dataset(images[..., 0], labels, 3, 0.5, 0.25)
    with pytest.raises(TypeError, match="images must be uint8 .* got dtype int16"):
        make_dataset(images.astype(np.int16), labels, 3, 0.5, 0.25)
    with pytest.raises(ValueError, match=r"std must be one number or 3 \(one per channel\), got 2"):
        make_dataset(images, labels, 3, 0.5, (0.25, 0.25))
    with pytest.raises(ValueError, match=r"num_classes must be an int in \[1, \d+\], got 0"):
        make_dataset(images, labels, 0, 0.5, 0.25)
    with pytest.raises(ValueError, match="drop_remainder=True with batch_size 8 and only 4 examples"):
        make_dataset(images, labels, 3, 0.5, 0.25, batch_size=8, drop_remainder=True)


# --- valid input keeps working ---------------------------------------------------------


def test_valid_input_still_works():
    # numpy integers are ints; class_names alone fix the class count.
    ds = data.from_arrays(X, Y, batch_size=np.int64(3), image_size=np.int32(8), seed=np.int64(3),
                          training=np.bool_(True), class_names=["a", "b", "c", "d"])
    images, labels = next(iter(ds))
    assert tuple(images.shape) == (3, 8, 8, 1) and tuple(labels.shape) == (3, 4)
    ds = make_dataset(np.zeros((4, 2, 2, 3), np.float32), np.array([0, 1, 0, 1]), 2,
                      mean=[0.5], std=1.0, batch_size=4, drop_remainder=True)
    assert [tuple(x.shape) for x, _ in ds] == [(4, 2, 2, 3)]
    assert check_labels(np.array([1.0, 0.0]))[1] == 2
    assert data.generate_shapes(np.int64(2), image_size=np.int64(16))["images"].shape == (2, 16, 16, 3)
