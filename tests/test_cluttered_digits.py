"""Tests of the `cluttered_digits` localization set: real scans pasted into clutter."""

import numpy as np
import pytest

from keras_nest import data
from keras_nest.data import cluttered_digits, digits
from keras_nest.data.images import channel_stats, convert_channels
from keras_nest.errors import InvalidValueError


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_NEST_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def test_split():
    return data.load_arrays("cluttered_digits", "test", num_examples=300)


def test_arrays_shapes_dtypes_and_balanced_labels(test_split):
    d = test_split
    assert d["images"].shape == (300, 64, 64, 3) and d["images"].dtype == np.uint8
    assert d["masks"].shape == (300, 64, 64) and d["masks"].dtype == bool
    assert d["boxes"].shape == (300, 4) and d["labels"].dtype == np.int64
    assert d["class_names"] == [str(k) for k in range(10)]
    counts = np.bincount(data.load_arrays("cluttered_digits", "validation")["labels"], minlength=10)
    assert counts.max() - counts.min() <= 1


def test_boxes_are_tight_around_non_empty_masks(test_split):
    masks, boxes = test_split["masks"], test_split["boxes"]
    assert masks.sum(axis=(1, 2)).min() > 0.01 * 64 * 64  # a digit, not a speck
    for m, (x0, y0, x1, y1) in zip(masks, boxes):
        assert m[y0:y1, x0:x1].sum() == m.sum()
        assert m[y0, x0:x1].any() and m[y1 - 1, x0:x1].any() and m[y0:y1, x0].any() and m[y0:y1, x1 - 1].any()


def test_masks_have_the_shape_of_the_pasted_scan(test_split):
    """The mask, shrunk to the scan's 8x8 grid, is the scan's own ink (IoU >= 0.6 for most images)."""
    scans, scan_labels = digits.native_split("test")
    # Test images paste test-split scans of their own class: handwriting no training image shows.
    np.testing.assert_array_equal(scan_labels[test_split["digit_index"]], test_split["labels"])
    ious = []
    for mask, box, index in zip(test_split["masks"], test_split["boxes"], test_split["digit_index"]):
        ink = scans[index, ..., 0] >= 0.5
        rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        x0, y0, x1, y1 = box
        crop = mask[y0:y1, x0:x1]
        # Nearest-neighbour resize of the mask crop onto the ink's cell grid.
        ys = ((np.arange(ink.shape[0]) + 0.5) * crop.shape[0] / ink.shape[0]).astype(int)
        xs = ((np.arange(ink.shape[1]) + 0.5) * crop.shape[1] / ink.shape[1]).astype(int)
        shrunk = crop[ys][:, xs]
        ious.append((shrunk & ink).sum() / (shrunk | ink).sum())
    assert np.median(ious) >= 0.75 and np.mean(np.array(ious) >= 0.6) >= 0.9, np.percentile(ious, [10, 50])


def test_masked_pixels_hold_one_pasted_colour(test_split):
    """Inside the mask the pixels are the digit's colour (plus noise); the rest of its box is not."""
    closer = []
    for image, mask, (x0, y0, x1, y1) in zip(test_split["images"].astype(np.float32), test_split["masks"],
                                             test_split["boxes"]):
        colour = np.median(image[mask], axis=0)
        inside = np.linalg.norm(image[mask] - colour, axis=1)
        around = mask.copy()
        around[y0:y1, x0:x1] = ~mask[y0:y1, x0:x1]
        around[:y0] = around[y1:] = False
        around[:, :x0] = around[:, x1:] = False
        outside = np.linalg.norm(image[around] - colour, axis=1)
        closer.append(np.median(inside) < np.median(outside))
    assert np.mean(closer) >= 0.95


def test_seeded_and_splits_differ():
    a = cluttered_digits.generate_cluttered_digits(12, 32, seed=3)
    b = cluttered_digits.generate_cluttered_digits(12, 32, seed=3)
    c = cluttered_digits.generate_cluttered_digits(12, 32, seed=4)
    for key in ("images", "labels", "boxes", "masks", "digit_index"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["images"], c["images"])
    train = data.load_arrays("cluttered_digits", "train", num_examples=20)
    validation = data.load_arrays("cluttered_digits", "validation", num_examples=20)
    assert not np.array_equal(train["images"], validation["images"])


def test_normalisation_constants_match_the_train_split():
    images = data.load_arrays("cluttered_digits", "train", num_examples=1000)["images"]
    info = data.dataset_info("cluttered_digits")
    mean, std = channel_stats(images)
    np.testing.assert_allclose(mean, info.mean, atol=0.02)
    np.testing.assert_allclose(std, info.std, atol=0.02)
    gray_mean, gray_std = channel_stats(convert_channels(images, 1))
    gray = data.dataset_info("cluttered_digits", channels=1)
    np.testing.assert_allclose(gray_mean, gray.mean, atol=0.02)
    np.testing.assert_allclose(gray_std, gray.std, atol=0.02)


def test_load_dataset_batches_and_bad_sizes():
    x, y = next(iter(data.load_dataset("cluttered_digits", "test", batch_size=8)))
    assert tuple(x.shape) == (8, 64, 64, 3) and tuple(y.shape) == (8, 10)
    with pytest.raises(InvalidValueError, match="image_size >= 32"):
        data.load_arrays("cluttered_digits", "test", image_size=16, num_examples=2)
    with pytest.raises(InvalidValueError, match="square"):
        data.load_arrays("cluttered_digits", "test", image_size=(64, 48), num_examples=2)
    with pytest.raises(InvalidValueError, match="digit_split"):
        cluttered_digits.generate_cluttered_digits(2, 32, digit_split="validation")
