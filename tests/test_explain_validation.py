"""Bad arguments to `keras_nest.explain` fail at the public entry with a clear message.

A plain Keras model, a class index or class names from another class set,
a nonsense `top_k` or threshold: each raises a TypeError or ValueError that
names the argument and the value, never an AttributeError or IndexError
from deep inside.
"""

import keras
import matplotlib
import numpy as np
import pytest

import keras_nest
from keras_nest import explain
from keras_nest.explain import localization as loc

matplotlib.use("Agg")

RNG = np.random.default_rng(0)
IMAGE = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
INPUTS = RNG.normal(size=(2, 16, 16, 3)).astype(np.float32)
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@pytest.fixture(scope="module")
def nest():
    return keras_nest.create_model("nest_nano_16", num_classes=3, seed=1)


@pytest.fixture(scope="module")
def nest7():
    return keras_nest.create_model("nest_nano_16", num_classes=7)


@pytest.fixture(scope="module")
def plain():
    return keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])


@pytest.fixture(scope="module")
def explanation(nest):
    return explain.explain_image(nest, IMAGE, MEAN, STD)


# --- the model ---------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda m: explain.explain_image(m, IMAGE, MEAN, STD),
    lambda m: explain.explain_figure(m, IMAGE, MEAN, STD),
    lambda m: explain.gradcat(m, INPUTS[0]),
    lambda m: explain.gradcat_batch(m, INPUTS),
    lambda m: explain.grad_cam(m, INPUTS),
    lambda m: explain.level_gradients(m, INPUTS),
    lambda m: explain.evaluate_localization(m, num_examples=2),
], ids=["explain_image", "explain_figure", "gradcat", "gradcat_batch", "grad_cam", "level_gradients",
        "evaluate_localization"])
def test_a_plain_keras_model_is_refused(plain, call):
    with pytest.raises(TypeError, match=r"needs a NesT classifier built by keras_nest.*create_model.*"
                                        r"keras-nest train.*got Sequential"):
        call(plain)


def test_a_plain_keras_model_is_refused_where_a_vit_is_accepted(plain):
    for call in (lambda m: explain.prepare_images(IMAGE, m, MEAN, STD),
                 lambda m: explain.class_attention_map(m, INPUTS)):
        with pytest.raises(TypeError, match=r"needs a NesT \(or ViT baseline\) classifier.*got Sequential"):
            call(plain)
    with pytest.raises(TypeError, match="attention_rollout needs a keras_nest ViT baseline.*got Sequential"):
        explain.attention_rollout(plain, INPUTS)
    # The ViT baseline is still accepted where it was.
    vit = keras_nest.create_model("vit_nano_16", num_classes=3)
    assert explain.prepare_images(IMAGE, vit, MEAN, STD).shape == (1, 16, 16, 3)
    nest7 = keras_nest.create_model("nest_nano_16", num_classes=7)
    with pytest.raises(TypeError, match="vit_model must be a keras_nest ViT baseline.*got NestModel"):
        explain.evaluate_localization(nest7, vit_model=nest7)


# --- another class set ---------------------------------------------------------------------


def test_class_index_beyond_the_models_classes(nest):
    with pytest.raises(ValueError, match=r"class_index 5 is out of range: the model has 3 classes \(0..2\)"):
        explain.explain_image(nest, IMAGE, MEAN, STD, class_index=5)
    with pytest.raises(ValueError, match="class_index 7 is out of range: the model has 3 classes"):
        explain.explain_figure(nest, IMAGE, MEAN, STD, class_index=7)
    with pytest.raises(ValueError, match="class_index -1 is out of range"):
        explain.grad_cam(nest, INPUTS, class_index=-1)
    with pytest.raises(ValueError, match=r"class_index must be one int or 2 ints \(one per image\); got shape \(3,\)"):
        explain.class_attention_map(nest, INPUTS, class_index=[0, 1, 2])
    with pytest.raises(TypeError, match=r"class_index must be None, an int or 2 ints.*1.0"):
        explain.class_attention_map(nest, INPUTS, class_index=1.0)
    with pytest.raises(TypeError, match="class_index must be None, an int .*True"):
        explain.gradcat_batch(nest, INPUTS, class_index=True)
    with pytest.raises(ValueError, match=r"explain_image takes one class_index \(an int\); got \[0, 1\]"):
        explain.explain_image(nest, IMAGE, MEAN, STD, class_index=[0, 1])


def test_class_names_of_another_data_set(nest, explanation):
    shapes = keras_nest.data.SHAPE_CLASSES
    with pytest.raises(ValueError, match="Got 7 class_names but the model has 3 classes; was it trained on another"):
        explain.explain_figure(nest, IMAGE, MEAN, STD, class_names=shapes, explanation=explanation)
    with pytest.raises(ValueError, match="Got 2 class_names but the model has 3 classes"):
        explain.explain_figure(nest, IMAGE, MEAN, STD, class_names=["a", "b"])
    with pytest.raises(TypeError, match="class_names must be a list or tuple of 3 names; got str"):
        explain.explain_figure(nest, IMAGE, MEAN, STD, class_names="abc")
    other = {"gradcat": None, "cam": None, "probabilities": np.full(7, 1 / 7)}
    with pytest.raises(ValueError, match="The explanation has 7 class probabilities but the model has 3 classes"):
        explain.explain_figure(nest, IMAGE, MEAN, STD, explanation=other)
    with pytest.raises(TypeError, match="explanation must be the dict explain_image returns"):
        explain.explain_figure(nest, IMAGE, MEAN, STD, explanation=[1, 2])


def test_evaluate_localization_class_counts(nest):
    with pytest.raises(ValueError, match="The model predicts 3 classes but 'shapes' has 7"):
        explain.evaluate_localization(nest, "shapes", num_examples=2)


# --- top_k ---------------------------------------------------------------------------------


@pytest.mark.parametrize("top_k, error, match", [
    (-1, ValueError, r"top_k must be an int >= 1, got -1"),
    (0, ValueError, r"top_k must be an int >= 1, got 0"),
    (2.5, TypeError, r"top_k must be an int >= 1, got 2.5 \(float\)"),
    ("3", TypeError, r"top_k must be an int >= 1, got '3' \(str\)"),
    (True, TypeError, r"top_k must be an int >= 1, got True \(bool\)"),
])
def test_bad_top_k(nest, explanation, top_k, error, match):
    with pytest.raises(error, match=match):
        explain.explain_figure(nest, IMAGE, MEAN, STD, top_k=top_k, explanation=explanation)


def test_top_k_beyond_the_classes_is_clipped(nest, explanation):
    import matplotlib.pyplot as plt

    fig = explain.explain_figure(nest, IMAGE, MEAN, STD, top_k=10, explanation=explanation)
    assert fig.axes[2].get_title() == "top-3 classes" and len(fig.axes[2].patches) == 3
    plt.close(fig)


# --- the other arguments ---------------------------------------------------------------------


def test_images_and_normalisation(nest):
    with pytest.raises(ValueError, match=r"mean must be one number or 3 \(one per channel\), got 2"):
        explain.prepare_images(IMAGE, nest, (0.5, 0.5), STD)
    with pytest.raises(ValueError, match=r"std must be in \(0, 1\].*got 0"):
        explain.explain_image(nest, IMAGE, MEAN, 0)
    with pytest.raises(ValueError, match=r"mean must be in \[0, 1\].*divide 0..255 values by 255.*123.7"):
        explain.prepare_images(IMAGE, nest, 123.7, STD)
    with pytest.raises(ValueError, match=r"Float images must be raw pixels in \[0, 1\]; got values in \[255.0, 255"):
        explain.prepare_images(np.full((16, 16, 3), 255.0), nest, MEAN, STD)
    with pytest.raises(ValueError, match=r"Integer images must be in 0..255; got values in \[300, 300\]"):
        explain.prepare_images(np.full((16, 16, 3), 300, np.int16), nest, MEAN, STD)
    with pytest.raises(TypeError, match="images must be a uint8 .* got dtype bool"):
        explain.prepare_images(np.ones((16, 16, 3), bool), nest, MEAN, STD)
    with pytest.raises(ValueError, match=r"one image at a time; pass an \(H, W, C\) array, got shape \(2, 16, 16, 3\)"):
        explain.explain_image(nest, np.stack([IMAGE, IMAGE]), MEAN, STD)
    with pytest.raises(TypeError, match="images must be a numeric array of model inputs"):
        explain.class_attention_map(nest, "image.png")
    # Wrong sizes keep their clear messages.
    with pytest.raises(ValueError, match="16x16x3 inputs; got images of 32x32x3.*prepare_images"):
        explain.class_attention_map(nest, np.zeros((1, 32, 32, 3), np.float32))
    # An int16 image in 0..255 is read like uint8.
    np.testing.assert_array_equal(explain.prepare_images(IMAGE.astype(np.int16), nest, MEAN, STD),
                                  explain.prepare_images(IMAGE, nest, MEAN, STD))


def test_level_features_and_scores(nest):
    with pytest.raises(TypeError, match=r"level must be an int, got 1.0 \(float\)"):
        explain.grad_cam(nest, INPUTS, level=1.0)
    with pytest.raises(TypeError, match=r"level must be an int, got '0' \(str\)"):
        explain.grad_cam(nest, INPUTS, level="0")
    with pytest.raises(ValueError, match=r"level must be in \[-3, 2\]; got -4"):
        explain.grad_cam(nest, INPUTS, level=-4)
    with pytest.raises(ValueError, match="features must be one of 'output', 'normalized'; got 'raw'"):
        explain.level_gradients(nest, INPUTS, features="raw")
    with pytest.raises(ValueError, match="features must be one of 'output', 'normalized'; got 'raw'"):
        explain.gradcat(nest, INPUTS[0], features="raw")
    with pytest.raises(ValueError, match="score must be one of"):
        explain.gradcat_batch(nest, INPUTS, score="norm")
    with pytest.raises(ValueError, match=r"activations and gradients must both be \(N, blocks, n, C\).*\(1, 2, 3\)"):
        explain.token_scores(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="activations and gradients must both be"):
        explain.block_scores(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 5)))


def test_traverse_and_maps():
    with pytest.raises(ValueError, match="score_maps is empty"):
        explain.traverse([], (16, 16))
    with pytest.raises(TypeError, match="score_maps must be a list of per-level"):
        explain.traverse(np.ones((1, 1)), (16, 16))
    with pytest.raises(ValueError, match=r"twice the next one's per side; score_maps\[0\] is 3x3 but .*\[1\] is 1x1"):
        explain.traverse([np.ones((3, 3)), np.ones((1, 1))], (16, 16))
    with pytest.raises(ValueError, match=r"score_maps\[1\] holds NaN"):
        explain.traverse([np.ones((2, 2)), np.full((1, 1), np.nan)], (16, 16))
    with pytest.raises(ValueError, match=r"image_size must have 2 entries, got 1"):
        explain.traverse([np.ones((2, 2)), np.ones((1, 1))], (16,))
    with pytest.raises(ValueError, match="interpolation must be one of 'bilinear'.*; got 'cubic'"):
        explain.upsample_maps(np.zeros((1, 4, 4)), (16, 16), interpolation="cubic")
    with pytest.raises(ValueError, match=r"size must have 2 entries, got 3"):
        explain.image_maps(np.zeros((1, 4, 4)), (16, 16, 3))
    with pytest.raises(ValueError, match=r"maps must be a non-empty \(N, h, w\) array; got shape \(4, 4\)"):
        explain.normalize_maps(np.zeros((4, 4)))


def test_plot_functions(nest, explanation):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    shown = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes.*got NoneType"):
        explain.plot_cam(None, shown, np.zeros((16, 16)))
    with pytest.raises(ValueError, match=r"heatmap must be \(H, W\) like display_image \(16, 16\); got shape \(4, 4\)"):
        explain.plot_cam(ax, shown, np.zeros((4, 4)))
    with pytest.raises(TypeError, match="result must be a GradCAT.*got dict"):
        explain.plot_gradcat(ax, shown, explanation)
    with pytest.raises(ValueError, match="display_image is 32x32 but the GradCAT boxes refer to a 16x16 input"):
        explain.plot_gradcat(ax, np.zeros((32, 32, 3)), explanation["gradcat"])
    with pytest.raises(ValueError, match=r"display_image must be .*got shape \(16, 16, 2\)"):
        explain.plot_cam(ax, np.zeros((16, 16, 2)), np.zeros((16, 16)))
    explain.plot_gradcat(ax, shown, explanation["gradcat"])  # valid input still draws
    plt.close(fig)


# --- localization metrics ---------------------------------------------------------------------


MAPS = np.zeros((2, 8, 8), np.float32)
MAPS[0, 1:4, 1:4] = 1.0
BOXES = np.array([[1, 1, 4, 4], [0, 0, 2, 2]])


@pytest.mark.parametrize("call, error, match", [
    (lambda: loc.max_box_acc_v2(MAPS, BOXES, iou_thresholds=(0.0, 0.5)), ValueError,
     r"iou_thresholds must be a non-empty sequence of IoU thresholds in \(0, 1\]; got \[0.0, 0.5\]"),
    (lambda: loc.max_box_acc_v2(MAPS, BOXES, iou_thresholds=(1.5,)), ValueError, r"IoU thresholds in \(0, 1\]"),
    (lambda: loc.max_box_acc_v2(MAPS, BOXES, iou_thresholds=()), ValueError, r"iou_thresholds must be a non-empty"),
    (lambda: loc.max_box_acc_v2(MAPS, BOXES, iou_thresholds="0.5"), TypeError, r"iou_thresholds must be .*'0.5'"),
    (lambda: loc.max_box_acc_v2(MAPS, BOXES, thresholds=[-0.1, 0.5]), ValueError,
     r"thresholds must be a non-empty sequence of map thresholds in \[0, 1\); got \[-0.1, 0.5\]"),
    (lambda: loc.box_accuracy_curve(MAPS, BOXES, thresholds=[1.0]), ValueError, r"map thresholds in \[0, 1\)"),
    (lambda: loc.max_box_acc(MAPS, BOXES, iou_threshold=0), ValueError,
     r"iou_threshold must be a finite number > 0 and <= 1, got 0.0"),
    (lambda: loc.best_threshold(MAPS, BOXES, iou_threshold=2.0), ValueError, r"iou_threshold must be .* got 2.0"),
    (lambda: loc.gt_known_localization(MAPS, BOXES, tau=1.0), ValueError,
     r"tau must be a finite number >= 0 and < 1, got 1.0"),
    (lambda: loc.gt_known_localization(MAPS, BOXES, tau="0.5"), TypeError, r"tau must be a number .*'0.5' \(str\)"),
    (lambda: loc.top1_localization(MAPS, BOXES, [0], [0, 1], tau=0.5), ValueError,
     r"predicted must be 2 integer class indices, one per map; got shape \(1,\)"),
    (lambda: loc.max_box_acc_v2(MAPS, [[4, 1, 1, 4], [0, 0, 2, 2]]), ValueError,
     r"boxes\[0\] is \[4, 1, 1, 4\]: boxes are \(x0, y0, x1, y1\) with x0 <= x1"),
    (lambda: loc.max_box_acc_v2(MAPS, [["a"] * 4] * 2), TypeError, r"boxes must be a numeric array"),
    (lambda: loc.pxap(MAPS, MAPS > 0, bins=0), ValueError, r"bins must be an int in \[1, 1000000\], got 0"),
    (lambda: loc.centre_maps(2, (16, 16), sigma=0), ValueError, r"sigma must be a finite number > 0, got 0.0"),
    (lambda: loc.centre_maps(0, (16, 16)), ValueError, r"num_images must be an int >= 1, got 0"),
    (lambda: loc.default_thresholds(0), ValueError, r"step must be a finite number >= 0.0001 and <= 1, got 0.0"),
    (lambda: loc.boxes_from_map(MAPS, 0.5), ValueError, r"heatmap must be one \(H, W\) map; got shape \(2, 8, 8\)"),
    (lambda: loc.best_ious(MAPS, BOXES, all_components="yes"), TypeError, r"all_components must be True or False"),
])
def test_localization_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_localization_valid_input_still_works():
    assert loc.max_box_acc_v2(MAPS, BOXES, iou_thresholds=(0.5, 1.0), thresholds=np.array([0.0, 0.5])) == 0.5
    assert loc.box_iou(np.array([0, 0, 4, 4]), [0, 0, 4, 4]).tolist() == [1.0]
    assert loc.gt_known_localization(MAPS, BOXES, tau=np.float32(0.5), iou_threshold=1) == 0.5


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_examples=0), ValueError, r"num_examples must be an int >= 1, got 0"),
    (dict(batch_size=-1), ValueError, r"batch_size must be an int >= 1, got -1"),
    (dict(batch_size=2.0), TypeError, r"batch_size must be an int >= 1, got 2.0 \(float\)"),
    (dict(threshold_step=0), ValueError, r"threshold_step must be a finite number >= 0.0001 and <= 1, got 0.0"),
    (dict(split=1), TypeError, r"split must be a split name \(a str\); got 1"),
    (dict(calibration_split="holdout"), ValueError, r"Unknown split 'holdout' for 'shapes'; valid splits"),
])
def test_evaluate_localization_arguments(nest7, kwargs, error, match):
    with pytest.raises(error, match=match):
        explain.evaluate_localization(nest7, **{"num_examples": 2, **kwargs})
