"""The localization benchmark behind `keras-nest explain evaluate`.

For each method the maps of every image's ground-truth class give
MaxBoxAccV2, MaxBoxAcc, PxAP and GT-known Loc; the maps of the predicted
class give Top-1 Loc. GT-known and Top-1 Loc use one threshold `tau`,
chosen on the calibration split (`validation`), never on the test split.
Methods: NesT GradCAT's map (`GradCAT.heatmap`, also the default of
`class_attention_map`), the head's CAM moved along the top level's
attention rollout (`method="rollout"`), the exact CAM of the trained head
(`method="head"`), the centre baseline, and for a ViT baseline its CAM (GAP
head) and attention rollout.
"""

import numpy as np

from keras_nest.data import dataset_info, load_arrays
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.explain import localization as loc
from keras_nest.explain.cam import class_attention_map
from keras_nest.explain.forward import check_classifier
from keras_nest.explain.gradcat import gradcat_batch
from keras_nest.explain.maps import ClassMaps, prepare_images
from keras_nest.explain.rollout import attention_rollout
from keras_nest.layers.block_partition import block_box
from keras_nest.models.vit import VitModel
from keras_nest.validation import check_int


def _batched(fn, inputs, class_index, batch_size):
    parts = [
        fn(inputs[i:i + batch_size], None if class_index is None else class_index[i:i + batch_size])
        for i in range(0, len(inputs), batch_size)
    ]
    return ClassMaps(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                       ("maps", "token_maps", "class_index", "logits")))


def _gradcat_maps(model, inputs, class_index, batch_size, keep=None):
    """GradCAT heat maps as `ClassMaps` (token maps: the level-0 token scores)."""
    results = []
    for i in range(0, len(inputs), batch_size):
        index = None if class_index is None else class_index[i:i + batch_size]
        results += gradcat_batch(model, inputs[i:i + batch_size], index)
    if keep is not None:
        keep.extend(results)
    return ClassMaps(np.stack([r.heatmap(model.image_size) for r in results]),
                     np.stack([r.token_maps[0] for r in results]),
                     np.array([r.class_index for r in results]), np.stack([r.logits for r in results]))


def _load(dataset, split, model, num_examples):
    info = dataset_info(dataset)
    arrays = load_arrays(dataset, split, image_size=tuple(model.model_config["input_shape"][:2]),
                         num_examples=num_examples)
    if "boxes" not in arrays:
        raise InvalidValueError(f"{dataset!r} has no object boxes; localization needs a data set with boxes "
                                "(the built-in 'shapes' or 'cluttered_digits').")
    if model.model_config["num_classes"] != info.num_classes:
        raise InvalidValueError(f"The model predicts {model.model_config['num_classes']} classes but "
                         f"{dataset!r} has {info.num_classes}.")
    inputs = prepare_images(arrays["images"], model, info.mean, info.std)
    return inputs, arrays


def _scores(gt_maps, pred_maps, predicted, arrays, tau, thresholds):
    boxes, labels = arrays["boxes"], arrays["labels"]
    curve = loc.box_accuracy_curve(gt_maps, boxes, loc.IOU_THRESHOLDS, thresholds)
    return {
        "max_box_acc_v2": float(curve.max(axis=1).mean()),
        "max_box_acc_v2_per_iou": {str(d): float(v) for d, v in zip(loc.IOU_THRESHOLDS, curve.max(axis=1))},
        "max_box_acc": loc.max_box_acc(gt_maps, boxes, 0.5, thresholds),
        "gt_known_loc": loc.gt_known_localization(gt_maps, boxes, tau),
        "top1_loc": loc.top1_localization(pred_maps, boxes, predicted, labels, tau),
        "pxap": loc.pxap(gt_maps, arrays["masks"]),
        "tau": tau,
    }


def leaf_hit_rates(results, arrays, geometry, image_size):
    """How often GradCAT's leaf block touches the object, and the chance rate.

    Over the correctly classified images: `box_hit` = the leaf block overlaps
    the object's box, `mask_hit` = the leaf block holds object pixels,
    `mask_coverage` = the share of the leaf block's pixels that are object.
    The `*_chance` values are the same quantities for a uniformly random
    level-0 block, averaged over the same images (for coverage: the
    object's share of the image, since the blocks tile it).
    """
    for key in ("boxes", "masks", "labels"):
        if key not in arrays:
            raise InvalidValueError(f"arrays must hold {key!r} (load_arrays of a data set with boxes, e.g. 'shapes').")
        if len(arrays[key]) != len(results):
            raise InvalidValueError(f"Got {len(results)} GradCAT results but {len(arrays[key])} {key}.")
    grid = geometry[0].grid_size
    blocks = [block_box(b, grid, image_size) for b in range(int(np.prod(grid)))]
    stats = {k: [] for k in ("box_hit", "box_chance", "mask_hit", "mask_chance",
                             "mask_coverage", "mask_coverage_chance")}
    for r, box, mask, label in zip(results, arrays["boxes"], arrays["masks"], arrays["labels"]):
        if int(np.argmax(r.logits)) != int(label):
            continue
        overlaps = loc.box_iou(np.array(blocks), box) > 0
        coverage = np.array([mask[y0:y1, x0:x1].mean() for x0, y0, x1, y1 in blocks])
        holds = coverage > 0
        stats["box_hit"].append(overlaps[r.leaf[1]])
        stats["box_chance"].append(overlaps.mean())
        stats["mask_hit"].append(holds[r.leaf[1]])
        stats["mask_chance"].append(holds.mean())
        stats["mask_coverage"].append(coverage[r.leaf[1]])
        stats["mask_coverage_chance"].append(coverage.mean())
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in stats.items()}
    out["images"] = len(stats["box_hit"])
    return out


def evaluate_localization(model, dataset="shapes", split="test", vit_model=None, num_examples=None,
                          calibration_split="validation", batch_size=50, threshold_step=0.01):
    """The WSOL table of a NesT classifier (and optionally a ViT baseline).

    Args:
        model: a trained keras_nest NesT classifier.
        dataset: a data set with boxes and masks (`"shapes"`,
            `"cluttered_digits"`).
        split: the split scored; `calibration_split` chooses `tau`.
        vit_model: optional trained keras_nest ViT for the baseline rows.
        num_examples: use the first N images of each split (an int >= 1, or
            None for all).
        batch_size: images per forward/backward pass, an int >= 1.
        threshold_step: step of the `tau` sweep, in `[0.0001, 1]`.

    Raises:
        TypeError: `model` is not a keras_nest NesT classifier (or
            `vit_model` not a keras_nest ViT), or an argument has the wrong type.
        ValueError: an argument is out of range, or a model's class count
            differs from the data set's.

    Returns:
        A JSON-ready dict: per-method metrics under `methods` (the centre
        baseline predicts no class, so its `top1_loc` is None), GradCAT's
        leaf hit rates under `gradcat_leaf`, and each model's accuracy.
    """
    check_classifier(model)
    if vit_model is not None:
        if not isinstance(vit_model, VitModel):
            raise InvalidTypeError(
                "vit_model must be a keras_nest ViT baseline (keras_nest.create_model('vit_nano_16', "
                f"...) or a .keras file it saved) or None; got {type(vit_model).__name__}."
            )
        check_classifier(vit_model, allow_vit=True)
    for name, value in (("split", split), ("calibration_split", calibration_split)):
        if not isinstance(value, str):
            raise InvalidTypeError(f"{name} must be a split name (a str); got {value!r}.")
    if num_examples is not None:
        num_examples = check_int("num_examples", num_examples, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    thresholds = loc.default_thresholds(threshold_step, name="threshold_step")
    leaves = []  # GradCAT results for the ground-truth classes of the scored split

    def batched(fn):
        return lambda x, c: _batched(fn, x, c, batch_size)

    # name -> (the model whose inputs it reads, maps(inputs, class_index) -> ClassMaps, class-agnostic?)
    methods = {
        # GradCAT's map is also class_attention_map's default (method="gradient").
        "nest_gradcat": (model, lambda x, c, keep=None: _gradcat_maps(model, x, c, batch_size, keep), False),
        "nest_cam_rollout": (model, batched(lambda x, c: class_attention_map(model, x, c, "rollout")), False),
        "nest_cam_head": (model, batched(lambda x, c: class_attention_map(model, x, c, "head")), False),
    }
    if vit_model is not None:
        if vit_model.model_config["global_pool"] == "gap":
            methods["vit_cam"] = (vit_model, batched(lambda x, c: class_attention_map(vit_model, x, c)), False)
        methods["vit_rollout"] = (vit_model, batched(lambda x, c: attention_rollout(vit_model, x)), True)

    data = {id(net): {s: _load(dataset, s, net, num_examples) for s in (split, calibration_split)}
            for net, _, _ in methods.values()}
    table = {"dataset": dataset, "split": split, "calibration_split": calibration_split, "methods": {}}
    for name, (net, maps, agnostic) in methods.items():
        (inputs, arrays), (cal_inputs, cal) = data[id(net)][split], data[id(net)][calibration_split]
        cal_maps = maps(cal_inputs, cal["labels"]).maps
        gt = maps(inputs, arrays["labels"], leaves) if name == "nest_gradcat" else maps(inputs, arrays["labels"])
        pred = gt if agnostic else maps(inputs, None)
        predicted = np.argmax(pred.logits, axis=-1)
        table[f"{'vit' if net is vit_model else 'nest'}_top1_accuracy"] = float(np.mean(predicted == arrays["labels"]))
        tau = loc.best_threshold(cal_maps, cal["boxes"], 0.5, thresholds)
        table["methods"][name] = _scores(gt.maps, pred.maps, predicted, arrays, tau, thresholds)

    (inputs, arrays), (cal_inputs, cal) = data[id(model)][split], data[id(model)][calibration_split]
    size = tuple(inputs.shape[1:3])
    centre = loc.centre_maps(len(inputs), size)
    tau = loc.best_threshold(loc.centre_maps(len(cal_inputs), size), cal["boxes"], 0.5, thresholds)
    scores = _scores(centre, centre, arrays["labels"], arrays, tau, thresholds)
    table["methods"]["centre_baseline"] = dict(scores, top1_loc=None)
    table["examples"] = int(len(inputs))
    table["gradcat_leaf"] = leaf_hit_rates(leaves, arrays, model.geometry, model.image_size)
    return table
