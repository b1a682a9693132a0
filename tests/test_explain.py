"""Class attention maps, Grad-CAM, GradCAT, attention rollout and the `explain` CLI."""

import json

import keras
import numpy as np
import pytest
from keras import ops

import keras_nest
from keras_nest import cli, explain
from keras_nest.explain.forward import nest_forward
from keras_nest.layers.block_partition import block_box

RNG = np.random.default_rng(0)


def _inputs(n, size=16):
    return RNG.normal(size=(n, size, size, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def nest():
    return keras_nest.create_model("nest_nano_16", num_classes=3, seed=1)


# --- class attention maps -------------------------------------------------


def test_head_cam_tokens_sum_to_the_logit(nest):
    x = _inputs(3)
    cam = explain.class_attention_map(nest, x, class_index=[0, 1, 2], method="head")
    assert cam.maps.shape == (3, 16, 16) and cam.token_maps.shape == (3, 4, 4)
    np.testing.assert_allclose(cam.logits, ops.convert_to_numpy(nest(x)), atol=1e-5)
    np.testing.assert_allclose(cam.token_maps.mean((1, 2)), cam.logits[np.arange(3), [0, 1, 2]], atol=1e-5)
    assert cam.maps.min() == 0.0 and cam.maps.max() == 1.0


def test_rollout_cam_moves_the_head_cam_along_the_top_attention(nest):
    x = _inputs(3)
    head = explain.class_attention_map(nest, x, class_index=[0, 1, 2], method="head")
    rollout = explain.class_attention_map(nest, x, class_index=[0, 1, 2], method="rollout")
    # Rollout rows sum to 1, so the moved map still averages to the logit ...
    np.testing.assert_allclose(rollout.token_maps.mean((1, 2)), head.logits[np.arange(3), [0, 1, 2]], atol=1e-5)
    # ... and it is the head's map times the top level's rollout matrix.
    out = nest.forward_levels(x, with_attention=True)
    _, weights = nest.levels[-1].call_with_attention(out.inputs[-1])
    assert len(out.attention) == nest.num_levels and len(out.attention[-1]) == len(weights)
    for got, want in zip(out.attention[-1], weights):
        np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(out.logits, nest.forward_levels(x).logits, atol=1e-6)
    with pytest.raises(ValueError, match="training=False"):
        nest.forward_levels(x, training=True, with_attention=True)
    flow = explain.rollout.attention_flow([w[:, 0] for w in out.attention[-1]])
    expected = np.einsum("nq,nqi->ni", head.token_maps.reshape(3, -1), flow).reshape(3, 4, 4)
    np.testing.assert_allclose(rollout.token_maps, expected, atol=1e-5)
    assert not np.allclose(rollout.token_maps, head.token_maps, atol=1e-3)


def test_gradient_map_is_the_default_and_gradcat_heatmap(nest):
    x = _inputs(3)
    default = explain.class_attention_map(nest, x, class_index=[0, 1, 2])
    assert default.token_maps.shape == (3, 16, 16)  # the level-0 token plane of nest_nano_16
    assert default.maps.min() == 0.0 and default.maps.max() == 1.0
    for i in range(3):
        path = explain.gradcat(nest, x[i], class_index=i)
        np.testing.assert_allclose(default.maps[i], path.heatmap((16, 16)), atol=1e-5)
    # A class-aware map: another class gives another map.
    other = explain.class_attention_map(nest, x, class_index=[1, 2, 0])
    assert np.abs(other.maps - default.maps).max() > 0.05
    with pytest.raises(ValueError, match="method must be one of 'gradient', 'head', 'rollout'; got 'cam'"):
        explain.class_attention_map(nest, x, method="cam")


def test_cam_defaults_to_the_predicted_class(nest):
    x = _inputs(4)
    for method in explain.CAM_METHODS:
        cam = explain.class_attention_map(nest, x, method=method)
        np.testing.assert_array_equal(cam.class_index, np.argmax(ops.convert_to_numpy(nest(x)), -1))


def test_cam_of_a_gap_vit_and_refusal_of_a_class_token_vit():
    vit = keras_nest.create_model("vit_nano_16", num_classes=3)
    x = _inputs(2)
    cam = explain.class_attention_map(vit, x, class_index=2)
    assert cam.token_maps.shape == (2, 8, 8)
    np.testing.assert_allclose(cam.token_maps.mean((1, 2)), ops.convert_to_numpy(vit(x))[:, 2], atol=1e-5)
    with pytest.raises(ValueError, match="class token"):
        explain.class_attention_map(keras_nest.create_model("vit_nano_16", global_pool="token"), x)
    with pytest.raises(ValueError, match="A ViT has only the head's CAM"):
        explain.class_attention_map(vit, x, method="gradient")


def test_bad_input_errors(nest):
    with pytest.raises(TypeError, match="NesT"):
        explain.class_attention_map(keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten()]),
                                    _inputs(1))
    with pytest.raises(TypeError, match="NesT classifier"):
        explain.gradcat(keras_nest.create_model("vit_nano_16"), _inputs(1)[0])
    with pytest.raises(ValueError, match="class_index 3 is out of range.*3 classes"):
        explain.class_attention_map(nest, _inputs(1), class_index=3)
    with pytest.raises(ValueError, match="16x16x3 inputs; got images of 32x32x3.*prepare_images"):
        explain.grad_cam(nest, _inputs(1, size=32))
    with pytest.raises(ValueError, match="include_top=True"):
        explain.class_attention_map(keras_nest.create_model("nest_nano_16", include_top=False), _inputs(1))
    with pytest.raises(ValueError, match="level must be in"):
        explain.grad_cam(nest, _inputs(1), level=3)


def test_prepare_images_resizes_with_a_note(nest):
    with pytest.warns(UserWarning, match="Resizing images from 20x20 to the model's 16x16"):
        x = explain.prepare_images(np.full((20, 20, 3), 255, np.uint8), nest, 0.5, 0.25)
    assert x.shape == (1, 16, 16, 3)
    np.testing.assert_allclose(x, 2.0, atol=1e-5)


# --- gradients, Grad-CAM, GradCAT -----------------------------------------


@pytest.mark.parametrize("features", ["output", "normalized"])
def test_level_gradients_match_finite_differences(nest, features):
    x = _inputs(2)
    acts, grads, index, _ = explain.level_gradients(nest, x, class_index=[1, 2], features=features)
    level, block, token, channel, eps = 1, 2, 5, 7, 1e-2
    offsets = [np.zeros_like(a) for a in acts]
    offsets[level][:, block, token, channel] = eps
    _, _, up = nest_forward(nest, x, offsets, features)
    offsets[level][:, block, token, channel] = -eps
    _, _, down = nest_forward(nest, x, offsets, features)
    numeric = (ops.convert_to_numpy(up) - ops.convert_to_numpy(down))[np.arange(2), index] / (2 * eps)
    np.testing.assert_allclose(grads[level][:, block, token, channel], numeric, rtol=2e-2, atol=1e-4)


def test_grad_cam_shapes_per_level(nest):
    for level, side in ((0, 16), (1, 8), (2, 4), (-1, 4)):
        result = explain.grad_cam(nest, _inputs(2), level=level)
        assert result.token_maps.shape == (2, side, side) and result.maps.shape == (2, 16, 16)
        assert result.token_maps.min() >= 0.0


def test_traverse_follows_the_highest_child():
    level1 = np.array([[0.0, 5.0], [1.0, 2.0]])
    level0 = np.full((4, 4), -1.0)
    level0[0, 0] = 9.0  # best overall but not a child of the chosen parent
    level0[1, 3] = 0.5  # best child of block 1 (children 2, 3, 6, 7)
    path = explain.traverse([level0, level1, np.ones((1, 1))], (32, 32))
    assert path == [(2, 0, (0, 0, 32, 32)), (1, 1, (16, 0, 32, 16)), (0, 7, (24, 8, 32, 16))]


@pytest.mark.parametrize("features", ["output", "normalized"])
def test_gradcat_score_definitions(nest, features):
    x = _inputs(1)
    acts, grads, _, _ = explain.level_gradients(nest, x, class_index=1, features=features)
    expected = {
        "activation_gradient": lambda a, g: (a * g).sum(axis=(2, 3))[0],
        "absolute": lambda a, g: np.abs((a * g).sum(axis=(2, 3)))[0],
        "gradient_norm": lambda a, g: np.sqrt((g * g).sum(axis=(2, 3)))[0],
    }
    for score, formula in expected.items():
        result = explain.gradcat(nest, x[0], class_index=1, score=score, features=features)
        for level, scores in enumerate(result.score_maps):
            np.testing.assert_allclose(scores.reshape(-1), formula(acts[level], grads[level]),
                                       rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="score must be one of"):
        explain.gradcat(nest, x[0], score="saliency")


def test_token_scores_add_up_to_block_scores(nest):
    acts, grads, _, _ = explain.level_gradients(nest, _inputs(2), class_index=2, features="normalized")
    a, g = acts[0], grads[0]
    tokens = explain.token_scores(a, g, "gradient_norm")
    np.testing.assert_allclose(np.sqrt((tokens ** 2).sum(-1)), explain.block_scores(a, g, "gradient_norm"),
                               rtol=1e-5)
    np.testing.assert_allclose(explain.token_scores(a, g, "activation_gradient").sum(-1),
                               explain.block_scores(a, g, "activation_gradient"), rtol=1e-4, atol=1e-6)
    result = explain.gradcat(nest, _inputs(1)[0])
    assert [m.shape for m in result.token_maps] == [(16, 16), (8, 8), (4, 4)]
    heat = result.heatmap((16, 16))
    assert heat.shape == (16, 16) and heat.min() == 0.0 and heat.max() == 1.0


def test_activation_gradient_vanishes_before_a_layer_norm(nest):
    # The top level's output only reaches the logit through the final LayerNorm,
    # which ignores its scale; by Euler's theorem sum(a * g) is then 0. This is
    # why GradCAT does not score raw level outputs by activation x gradient.
    acts, grads, _, _ = explain.level_gradients(nest, _inputs(2), class_index=0)
    products = acts[-1] * grads[-1]
    assert np.all(np.abs(products.sum(axis=(1, 2, 3))) < 1e-4 * np.abs(products).sum(axis=(1, 2, 3)))


def test_gradcat_path_is_nested(nest):
    x = _inputs(1)
    result = explain.gradcat(nest, x[0], class_index=1)
    # The root is the whole image; each step lies inside the previous one.
    assert result.path[0] == (2, 0, (0, 0, 16, 16))
    for (_, _, outer), (_, _, inner) in zip(result.path, result.path[1:]):
        assert outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]
    with pytest.raises(ValueError, match="one image"):
        explain.gradcat(nest, x.repeat(2, axis=0))


def _planted(evidence_block, sign=1.0, n_blocks=(16, 4, 1), tokens=4, channels=3):
    """Activations and gradients of a 3-level tree with class evidence planted in
    one level-0 block (and, through aggregation, in its ancestors)."""
    rng = np.random.default_rng(0)
    parents = {16: evidence_block, 4: keras_nest.layers.block_parent(evidence_block, (4, 4)), 1: 0}
    acts, grads = [], []
    for blocks in n_blocks:
        a = rng.normal(0, 0.1, (1, blocks, tokens, channels))
        g = rng.normal(0, 0.1, (1, blocks, tokens, channels))
        a[0, parents[blocks]] += 1.0
        g[0, parents[blocks]] += sign
        acts.append(a)
        grads.append(g)
    return acts, grads


@pytest.mark.parametrize("block", [0, 5, 10, 15])
def test_gradcat_finds_planted_evidence(block):
    grids = [(4, 4), (2, 2), (1, 1)]
    for score, sign, found in (("activation_gradient", 1.0, True), ("absolute", 1.0, True),
                               ("gradient_norm", 1.0, True), ("gradient_norm", -1.0, True),
                               ("absolute", -1.0, True), ("activation_gradient", -1.0, False)):
        acts, grads = _planted(block, sign)
        maps = [explain.block_scores(a, g, score).reshape(grid) for a, g, grid in zip(acts, grads, grids)]
        leaf = explain.traverse(maps, (16, 16))[-1]
        # Evidence that lowers the class logit (sign -1) is avoided by the signed score only.
        assert (leaf[1] == block) is found, (score, sign)
        if found:
            assert leaf[2] == block_box(block, (4, 4), 16)


# --- ViT baseline ---------------------------------------------------------


def test_attention_rollout_is_a_distribution_over_patches():
    vit = keras_nest.create_model("vit_nano_16", num_classes=3)
    result = explain.attention_rollout(vit, _inputs(2))
    assert result.token_maps.shape == (2, 8, 8)
    np.testing.assert_allclose(result.token_maps.sum((1, 2)), 1.0, rtol=1e-5)
    with pytest.raises(TypeError, match="ViT"):
        explain.attention_rollout(keras_nest.create_model("nest_nano_16"), _inputs(1))


def test_attention_weights_reproduce_the_layer():
    layer = keras_nest.layers.LocalSelfAttention(num_heads=4, num_key_value_heads=2, use_bias=False)
    x = _inputs(2).reshape(2, 4, 64, 3)[..., :3].repeat(4, axis=-1)  # (B, T, n, 12)
    out = ops.convert_to_numpy(layer(x))
    weights = ops.convert_to_numpy(layer.attention_weights(x))
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    qkv = x @ ops.convert_to_numpy(layer.qkv_kernel)
    d = layer.head_dim
    value = qkv[..., 4 * d + 2 * d:].reshape(2, 4, 64, 2, d)
    context = np.stack([weights[:, :, h] @ value[..., h // 2, :] for h in range(4)], axis=3)
    expected = context.reshape(2, 4, 64, 4 * d) @ ops.convert_to_numpy(layer.output_kernel)
    np.testing.assert_allclose(out, expected, atol=1e-4)


# --- evaluation and CLI ----------------------------------------------------


def test_evaluate_localization_table(nest):
    model = keras_nest.create_model("nest_nano_16", num_classes=7)
    vit = keras_nest.create_model("vit_nano_16", num_classes=7)
    table = explain.evaluate_localization(model, "shapes", vit_model=vit, num_examples=12, threshold_step=0.05)
    assert set(table["methods"]) == {"nest_gradcat", "nest_cam_rollout", "nest_cam_head", "vit_cam", "vit_rollout",
                                     "centre_baseline"}
    for name, scores in table["methods"].items():
        for key in ("max_box_acc_v2", "max_box_acc", "gt_known_loc", "top1_loc", "pxap"):
            if name == "centre_baseline" and key == "top1_loc":
                assert scores[key] is None  # predicts no class
            else:
                assert 0.0 <= scores[key] <= 1.0
    assert table["methods"]["centre_baseline"]["max_box_acc_v2"] > 0.2
    assert table["examples"] == 12
    # A class-token ViT has no CAM, only the rollout row.
    token_vit = keras_nest.create_model("vit_nano_16", num_classes=7, global_pool="token")
    table = explain.evaluate_localization(model, "shapes", vit_model=token_vit, num_examples=4, threshold_step=0.25)
    assert "vit_rollout" in table["methods"] and "vit_cam" not in table["methods"]
    with pytest.raises(ValueError, match="has no object boxes"):
        explain.evaluate_localization(keras_nest.create_model("nest_nano_16"), "digits", num_examples=4)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain")
    model = keras_nest.create_model("nest_nano_16", num_classes=7)
    model.save(folder / "model.keras")
    info = keras_nest.data.dataset_info("shapes", image_size=16)
    raw = keras_nest.create_model("nest_nano_16", num_classes=7, include_preprocessing=True, pixel_mean=info.mean,
                                  pixel_std=info.std, class_names=info.class_names)
    raw.set_weights(model.get_weights())
    raw.save(folder / "raw.keras")
    vit = keras_nest.create_model("vit_nano_16", num_classes=7)
    vit.save(folder / "vit.keras")
    image = keras_nest.data.load_arrays("shapes", "test", image_size=(24, 24), num_examples=1)["images"][0]
    keras.utils.save_img(folder / "shape.png", image)
    return folder


def test_cli_explain_image(saved, capsys):
    out = saved / "explain.png"
    code = cli.main(["explain", str(saved / "shape.png"), "--model-path", str(saved / "model.keras"),
                     "--dataset", "shapes", "--out", str(out), "--top-k", "3"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert out.stat().st_size > 10_000
    assert len(result["top_k"]) == 3 and result["class"] in keras_nest.data.SHAPE_CLASSES
    assert [step[0] for step in result["gradcat_path"]] == [2, 1, 0]
    assert "Resizing images from 24x24 to the model's 16x16" in captured.err
    assert result["cam_method"] == "gradient"  # the default class map
    code = cli.main(["explain", "image", str(saved / "shape.png"), "--model-path", str(saved / "model.keras"),
                     "--dataset", "shapes", "--out", str(out), "--cam-method", "head"])
    assert code == 0 and json.loads(capsys.readouterr().out.strip().splitlines()[-1])["cam_method"] == "head"
    with pytest.raises(SystemExit):
        cli.main(["explain", "image", str(saved / "shape.png"), "--model-path", str(saved / "model.keras"),
                  "--cam-method", "cam"])
    assert "invalid choice: 'cam'" in capsys.readouterr().err


def test_cli_explain_a_model_that_carries_its_preprocessing(saved, capsys):
    # No result.json and no --dataset: normalisation and class names come from the model file.
    out = saved / "raw.png"
    code = cli.main(["explain", "image", str(saved / "shape.png"), "--model-path", str(saved / "raw.keras"),
                     "--out", str(out)])
    assert code == 0
    alone = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cli.main(["explain", "image", str(saved / "shape.png"), "--model-path", str(saved / "model.keras"),
              "--dataset", "shapes", "--out", str(out)])
    outside = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert alone["class"] == outside["class"] and alone["gradcat_path"] == outside["gradcat_path"]
    for (name, p), (other, q) in zip(alone["top_k"], outside["top_k"]):
        assert name == other and abs(p - q) < 1e-3


def test_explain_image_draws_the_chosen_class_map(nest):
    image = np.full((16, 16, 3), 128, np.uint8)
    image[4:10, 5:12] = 250
    for method in explain.CAM_METHODS:
        found = explain.explain_image(nest, image, 0.5, 0.25, class_index=1, cam_method=method)
        expected = explain.class_attention_map(nest, found["inputs"], 1, method)
        np.testing.assert_allclose(found["cam"].maps, expected.maps, atol=1e-6)
        assert found["cam_method"] == method
    with pytest.raises(ValueError, match="cam_method must be one of 'gradient', 'head', 'rollout'"):
        explain.explain_image(nest, image, 0.5, 0.25, cam_method="grad")


def test_cli_explain_errors(saved, capsys):
    image = str(saved / "shape.png")
    assert cli.main(["explain", image, "--model-path", str(saved / "vit.keras"), "--dataset", "shapes"]) == 2
    assert "needs a NesT classifier" in capsys.readouterr().err
    assert cli.main(["explain", image, "--model-path", str(saved / "model.keras")]) == 2
    assert "pass --dataset" in capsys.readouterr().err
    assert cli.main(["explain", str(saved / "model.keras"), "--model-path", str(saved / "model.keras"),
                     "--dataset", "shapes"]) == 2
    assert "Cannot read" in capsys.readouterr().err
    assert cli.main(["explain", image, "--model-path", str(saved / "model.keras"), "--dataset", "shapes",
                     "--class-index", "9"]) == 2
    assert "class_index 9 is out of range" in capsys.readouterr().err


def test_cli_explain_evaluate(saved, capsys):
    code = cli.main(["explain", "evaluate", "--model-path", str(saved / "model.keras"),
                     "--vit-model-path", str(saved / "vit.keras"), "--num-examples", "8"])
    assert code == 0
    table = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert table["examples"] == 8 and "vit_rollout" in table["methods"]


# --- localization metrics on hand-made maps ---------------------------------


def test_localization_metrics_on_known_maps():
    from keras_nest.explain import localization as loc

    maps = np.zeros((3, 20, 20), np.float32)
    boxes = np.array([[0, 0, 10, 10], [10, 10, 20, 20], [0, 0, 10, 10]])
    maps[0, 0:10, 0:6] = 1.0    # IoU 0.6 with its box: a hit at 0.3 and 0.5, not 0.7
    maps[1, 10:20, 10:20] = 0.5  # exactly its box, but only above tau < 0.5
    maps[1, 0:2, 0:2] = 1.0      # a small, brighter blob elsewhere
    maps[2, 15:20, 15:20] = 1.0  # misses
    curve = loc.box_accuracy_curve(maps, boxes, thresholds=[0.25, 0.75])
    np.testing.assert_allclose(curve, [[2 / 3, 1 / 3], [2 / 3, 1 / 3], [1 / 3, 0.0]])
    assert loc.max_box_acc_v2(maps, boxes, thresholds=[0.25, 0.75]) == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)
    # The largest component at tau 0.25 is image 1's true box (100 px > 4 px) too.
    assert loc.max_box_acc(maps, boxes, thresholds=[0.25, 0.75]) == pytest.approx(2 / 3)
    assert loc.best_threshold(maps, boxes, thresholds=[0.25, 0.75]) == 0.25
    assert loc.gt_known_localization(maps, boxes, tau=0.25) == pytest.approx(2 / 3)
    assert loc.gt_known_localization(maps, boxes, tau=0.75) == pytest.approx(1 / 3)
    assert loc.top1_localization(maps, boxes, predicted=[1, 0, 0], labels=[1, 1, 0], tau=0.25) == pytest.approx(1 / 3)


def test_pxap_and_centre_baseline():
    from keras_nest.explain import localization as loc

    masks = np.zeros((1, 4, 4), bool)
    scores = np.zeros((1, 4, 4), np.float32)
    positive, negative = [(0, 0), (0, 1), (0, 2), (0, 3)], [(1, 0)]
    for (r, c), v in zip(positive, (1.0, 0.8, 0.4, 0.2)):
        masks[0, r, c], scores[0, r, c] = True, v
    scores[0, negative[0][0], negative[0][1]] = 0.9
    # Ranked: P(1.0) N(0.9) P(0.8) P(0.4) P(0.2): AP = (1 + 2/3 + 3/4 + 4/5) / 4
    assert loc.pxap(scores, masks) == pytest.approx((1 + 2 / 3 + 3 / 4 + 4 / 5) / 4, abs=1e-6)
    centre = loc.centre_maps(2, (16, 16))
    assert centre.shape == (2, 16, 16) and centre.max() == 1.0
    assert loc.max_box_acc_v2(centre, np.array([[4, 4, 12, 12]] * 2)) == 1.0


def test_localization_bad_input():
    from keras_nest.explain import localization as loc

    with pytest.raises(ValueError, match=r"maps must be \(N, H, W\)"):
        loc.max_box_acc_v2(np.zeros((4, 4)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        loc.max_box_acc_v2(np.full((1, 4, 4), 2.0), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"boxes must be \(1, 4\)"):
        loc.max_box_acc_v2(np.zeros((1, 4, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="no object pixels"):
        loc.pxap(np.zeros((1, 4, 4)), np.zeros((1, 4, 4), bool))
