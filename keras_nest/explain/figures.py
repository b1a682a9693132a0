"""Pictures of explanations: the image, its CAM overlay, the GradCAT path, the top classes."""

import numpy as np

from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.explain.cam import CAM_METHODS, class_attention_map
from keras_nest.explain.forward import check_classifier
from keras_nest.explain.gradcat import GradCAT, gradcat
from keras_nest.explain.maps import prepare_images, scaled_images
from keras_nest.validation import check_choice, check_int, check_numeric_array

_LEVEL_COLOURS = ("#ffdd00", "#ff7f0e", "#d62728", "#9467bd", "#1f77b4")


def _display(image, size):
    """The raw image as float `[0, 1]` at the model's input size, for drawing."""
    image = np.clip(scaled_images(image, size)[0], 0.0, 1.0)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _check_ax(ax):
    if not all(hasattr(ax, name) for name in ("imshow", "add_patch", "set_title")):
        raise InvalidTypeError(
            "ax must be a matplotlib Axes (e.g. from matplotlib.pyplot.subplots()); got "
            f"{type(ax).__name__}."
        )


def _check_display(display_image):
    image = check_numeric_array("display_image", display_image, "a numeric image array")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3, 4)):
        raise InvalidValueError(
            f"display_image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got shape {image.shape}."
        )
    return image


def plot_gradcat(ax, display_image, result):
    """Draws the GradCAT path on `ax` as nested boxes, one colour per level.

    `display_image` is the image the boxes refer to, at the model's input
    size; `result` a `GradCAT` (from `gradcat` or `explain_image`).
    """
    from matplotlib.patches import Rectangle

    _check_ax(ax)
    display_image = _check_display(display_image)
    if not isinstance(result, GradCAT):
        raise InvalidTypeError(f"result must be a GradCAT (from gradcat or explain_image); got "
                        f"{type(result).__name__}.")
    x0, y0, x1, y1 = result.path[0][2]
    if display_image.shape[:2] != (y1 - y0, x1 - x0):
        raise InvalidValueError(
            f"display_image is {display_image.shape[0]}x{display_image.shape[1]} but the GradCAT "
            f"boxes refer to a {y1 - y0}x{x1 - x0} input; draw it at the model's input size."
        )

    ax.imshow(display_image, interpolation="nearest")
    for step, (level, block, (x0, y0, x1, y1)) in enumerate(result.path[1:]):
        colour = _LEVEL_COLOURS[step % len(_LEVEL_COLOURS)]
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                               edgecolor=colour, linewidth=2.5 - 0.5 * step,
                               label=f"level {level}, block {block}"))
    ax.legend(loc="lower left", fontsize=7, framealpha=0.7)
    ax.set_title("GradCAT path (root to leaf)")
    ax.axis("off")


def plot_cam(ax, display_image, heatmap, title="class attention map"):
    """Draws `heatmap` (`[0, 1]`, image-sized) over the image on `ax`."""
    _check_ax(ax)
    display_image = _check_display(display_image)
    try:
        heatmap = np.asarray(heatmap, np.float32)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"heatmap must be a numeric (H, W) array; got {type(heatmap).__name__}.") from None
    if heatmap.shape != display_image.shape[:2]:
        raise InvalidValueError(
            f"heatmap must be (H, W) like display_image {display_image.shape[:2]}; got shape "
            f"{heatmap.shape}."
        )
    if not isinstance(title, str):
        raise InvalidTypeError(f"title must be a str; got {type(title).__name__}.")
    ax.imshow(display_image, interpolation="nearest")
    ax.imshow(heatmap, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0, interpolation="bilinear")
    ax.set_title(title)
    ax.axis("off")


def explain_image(model, image, mean=None, std=None, class_index=None, cam_method=None):
    """GradCAT and the class map of one raw image (what `explain_figure` draws).

    `cam_method` is `class_attention_map`'s `method` (default `"gradient"`);
    `mean`/`std` are needed only for a model without preprocessing (see
    `prepare_images`).

    Returns:
        A dict with `inputs` (the model input), `gradcat` (`GradCAT`), `cam`
        (`ClassMaps` of the explained class), `cam_method` and
        `probabilities` (softmax of the logits).
    """
    check_classifier(model)
    if np.ndim(image) != 3 and not (np.ndim(image) == 4 and len(image) == 1):
        raise InvalidValueError(
            f"Explain one image at a time; pass an (H, W, C) array, got shape {np.shape(image)}."
        )
    if class_index is not None and np.ndim(class_index) != 0:
        raise InvalidValueError(f"explain_image takes one class_index (an int); got {class_index!r}.")
    inputs = prepare_images(image, model, mean, std)
    path = gradcat(model, inputs[0], class_index)
    cam_method = "gradient" if cam_method is None else check_choice("cam_method", cam_method, CAM_METHODS)
    cam = class_attention_map(model, inputs, path.class_index, cam_method)
    logits = path.logits.astype(np.float64)
    probabilities = np.exp(logits - logits.max())
    return {"inputs": inputs, "gradcat": path, "cam": cam, "cam_method": cam_method,
            "probabilities": probabilities / probabilities.sum()}


def explain_figure(model, image, mean=None, std=None, class_names=None, class_index=None, top_k=5,
                   explanation=None, cam_method=None):
    """One figure: the image with the GradCAT path, the class-map overlay, the top-k classes.

    Args:
        model: a keras_nest NesT classifier.
        image: one raw image `(H, W, C)`, uint8 or float in `[0, 1]`; any size
            (resized to the model's input with a warning).
        mean, std: the normalisation used in training; not needed (None) for
            a model built with `include_preprocessing=True`.
        class_names: optional names for the classes, one per class of the
            model's head (a data set with another class count is refused);
            default: the model's own `class_names`, else the indices.
        class_index: the class to explain (default: the predicted one).
        top_k: how many classes to list, an int >= 1; more than the model
            has are clipped to its number of classes (all are listed).
        explanation: `explain_image`'s result for this image, if already
            computed (for this model; `class_index` and `cam_method` are
            then ignored).
        cam_method: the class map drawn, a `class_attention_map` method
            (default `"gradient"`).

    Returns:
        A `matplotlib.figure.Figure` (save it with `fig.savefig(path)`).

    Example:

    >>> import keras_nest
    >>> model = keras_nest.create_model("nest_nano_16", num_classes=3)
    >>> fig = explain_figure(model, np.zeros((16, 16, 3), np.uint8), 0.5, 0.25)
    >>> len(fig.axes)
    3
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    check_classifier(model)
    num_classes = model.model_config["num_classes"]
    top_k = check_int("top_k", top_k, minimum=1)
    names = _class_names(model.class_names if class_names is None else class_names, num_classes)
    if explanation is None:
        found = explain_image(model, image, mean, std, class_index, cam_method)
    else:
        found = _check_explanation(explanation, num_classes)
    path, probs = found["gradcat"], found["probabilities"]
    order = np.argsort(-probs)[: min(top_k, num_classes)]
    shown = _display(image, model.image_size)

    fig, axes = plt.subplots(1, 3, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    plot_gradcat(axes[0], shown, path)
    plot_cam(axes[1], shown, found["cam"].maps[0],
             f"class map ({found.get('cam_method', 'gradient')}): {names[path.class_index]}")
    axes[2].barh(range(len(order))[::-1], probs[order],
                 color=["#d62728" if c == path.class_index else "#7f7f7f" for c in order])
    axes[2].set_yticks(range(len(order))[::-1], [names[c] for c in order])
    axes[2].set_xlim(0, 1)
    axes[2].set_xlabel("probability")
    axes[2].set_title(f"top-{len(order)} classes")
    fig.tight_layout()
    return fig


def _class_names(class_names, num_classes):
    if class_names is None:
        return [str(i) for i in range(num_classes)]
    if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__len__"):
        raise InvalidTypeError(
            f"class_names must be a list or tuple of {num_classes} names; got "
            f"{type(class_names).__name__}."
        )
    if len(class_names) != num_classes:
        raise InvalidValueError(
            f"Got {len(class_names)} class_names but the model has {num_classes} classes; was it "
            "trained on another data set? Pass the class names of the data set it was trained on."
        )
    return [str(name) for name in class_names]


def _check_explanation(explanation, num_classes):
    keys = ("gradcat", "cam", "probabilities")
    if not isinstance(explanation, dict) or any(k not in explanation for k in keys):
        raise InvalidTypeError(
            "explanation must be the dict explain_image returns (with 'gradcat', 'cam' and "
            f"'probabilities'); got {type(explanation).__name__}."
        )
    found = len(np.ravel(explanation["probabilities"]))
    if found != num_classes:
        raise InvalidValueError(
            f"The explanation has {found} class probabilities but the model has {num_classes} "
            "classes; it was computed with another model."
        )
    return explanation
