"""Pictures of explanations: the image, its CAM overlay, the GradCAT path, the top classes."""

import numpy as np

from keras_nest.explain.cam import class_attention_map
from keras_nest.explain.gradcat import gradcat
from keras_nest.explain.maps import prepare_images, scaled_images

_LEVEL_COLOURS = ("#ffdd00", "#ff7f0e", "#d62728", "#9467bd", "#1f77b4")


def _display(image, size):
    """The raw image as float `[0, 1]` at the model's input size, for drawing."""
    image = np.clip(scaled_images(image, size)[0], 0.0, 1.0)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def plot_gradcat(ax, display_image, result):
    """Draws the GradCAT path on `ax` as nested boxes, one colour per level."""
    from matplotlib.patches import Rectangle

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
    ax.imshow(display_image, interpolation="nearest")
    ax.imshow(heatmap, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0, interpolation="bilinear")
    ax.set_title(title)
    ax.axis("off")


def explain_image(model, image, mean, std, class_index=None):
    """GradCAT and CAM of one raw image (what `explain_figure` draws).

    Returns:
        A dict with `inputs` (the model input), `gradcat` (`GradCAT`), `cam`
        (`ClassMaps` of the explained class) and `probabilities` (softmax
        of the logits).
    """
    inputs = prepare_images(image, model, mean, std)
    if len(inputs) != 1:
        raise ValueError("Explain one image at a time; pass an (H, W, C) array.")
    path = gradcat(model, inputs[0], class_index)
    cam = class_attention_map(model, inputs, path.class_index)
    logits = path.logits.astype(np.float64)
    probabilities = np.exp(logits - logits.max())
    return {"inputs": inputs, "gradcat": path, "cam": cam,
            "probabilities": probabilities / probabilities.sum()}


def explain_figure(model, image, mean, std, class_names=None, class_index=None, top_k=5,
                   explanation=None):
    """One figure: the image with the GradCAT path, the CAM overlay, the top-k classes.

    Args:
        model: a keras_nest NesT classifier.
        image: one raw image `(H, W, C)`, uint8 or float in `[0, 1]`; any size
            (resized to the model's input with a warning).
        mean, std: the normalisation used in training.
        class_names: optional names for the classes.
        class_index: the class to explain (default: the predicted one).
        top_k: how many classes to list.
        explanation: `explain_image`'s result for this image, if already computed.

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

    found = explanation or explain_image(model, image, mean, std, class_index)
    path, probs = found["gradcat"], found["probabilities"]
    num_classes = model.model_config["num_classes"]
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    order = np.argsort(-probs)[: min(top_k, num_classes)]
    shown = _display(image, model.image_size)

    fig, axes = plt.subplots(1, 3, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    plot_gradcat(axes[0], shown, path)
    plot_cam(axes[1], shown, found["cam"].maps[0], f"CAM: {names[path.class_index]}")
    axes[2].barh(range(len(order))[::-1], probs[order],
                 color=["#d62728" if c == path.class_index else "#7f7f7f" for c in order])
    axes[2].set_yticks(range(len(order))[::-1], [names[c] for c in order])
    axes[2].set_xlim(0, 1)
    axes[2].set_xlabel("probability")
    axes[2].set_title(f"top-{len(order)} classes")
    fig.tight_layout()
    return fig
