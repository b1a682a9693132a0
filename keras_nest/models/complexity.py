"""Analytic multiply-accumulate count of keras_nest models."""


def _stages(model):
    """Per attention stage: (plane_h, plane_w, blocks, dim, heads, kv_heads, depth)."""
    config = model.model_config
    if hasattr(model, "geometry"):  # NesT
        kv = lambda heads: 1 if config["attention"] == "multi_query" else heads  # noqa: E731
        return [
            (*g.plane_size, g.num_blocks, dim, heads, kv(heads), depth)
            for g, dim, heads, depth in zip(
                model.geometry, config["embed_dims"], config["num_heads"], config["depths"]
            )
        ]
    height, width, _ = config["input_shape"]  # ViT: one stage, one block
    p = config["patch_size"]
    heads = config["num_heads"]
    return [(height // p, width // p, 1, config["embed_dim"], heads, heads, config["depth"])]


def count_macs(model):
    """Multiply-accumulates of one forward pass (one image).

    Counts the patch-embedding conv, attention projections, `QK^T` and
    `AV`, the MLPs, NesT's aggregation convs and the head; norms, softmax,
    GELU and pooling are left out (the convention of the paper's "GFLOPs").
    Works for `NestModel` and `VitModel`.
    """
    config = model.model_config
    stages = _stages(model)
    channels = config["input_shape"][2]
    patch = config["patch_size"]
    plane_h, plane_w, _, dim, _, _, _ = stages[0]
    macs = plane_h * plane_w * patch * patch * channels * dim
    previous = None
    for plane_h, plane_w, blocks, dim, heads, kv_heads, depth in stages:
        if previous is not None:  # block aggregation's 3x3 conv on the finer plane
            macs += previous[0] * previous[1] * 9 * previous[2] * dim
        tokens = plane_h * plane_w // blocks
        head_dim = dim // heads
        per_token = dim * (heads + 2 * kv_heads) * head_dim  # qkv
        per_token += heads * head_dim * dim  # output projection
        per_token += 2 * dim * int(dim * config["mlp_ratio"])  # MLP
        per_token += 2 * heads * tokens * head_dim  # QK^T and AV
        macs += depth * plane_h * plane_w * per_token
        previous = (plane_h, plane_w, dim)
    if config["include_top"]:
        macs += stages[-1][3] * config["num_classes"]
    return macs
