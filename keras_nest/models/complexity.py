"""Analytic multiply-accumulate count of a NesT model."""


def count_macs(model):
    """Multiply-accumulates of one forward pass of a `NestModel` (one image).

    Counts the patch-embedding conv, attention projections, `QK^T` and
    `AV`, the MLPs, the aggregation convs and the head; norms, softmax,
    GELU and pooling are left out (the convention of the paper's "GFLOPs").
    """
    config, geometry = model.nest_config, model.geometry
    height, width, channels = config["input_shape"]
    patch = config["patch_size"]
    dims = config["embed_dims"]
    macs = (height // patch) * (width // patch) * patch * patch * channels * dims[0]
    for level, (dim, heads, depth) in enumerate(zip(dims, config["num_heads"], config["depths"])):
        plane_h, plane_w = geometry[level]["plane_size"]
        if level > 0:
            prev_h, prev_w = geometry[level - 1]["plane_size"]
            macs += prev_h * prev_w * 9 * dims[level - 1] * dim
        blocks = geometry[level]["grid_size"][0] * geometry[level]["grid_size"][1]
        tokens = plane_h * plane_w // blocks
        head_dim = dim // heads
        kv_heads = 1 if config["attention"] == "multi_query" else heads
        per_token = dim * (heads + 2 * kv_heads) * head_dim  # qkv
        per_token += heads * head_dim * dim  # output projection
        per_token += 2 * dim * int(dim * config["mlp_ratio"])  # MLP
        per_token += 2 * heads * tokens * head_dim  # QK^T and AV
        macs += depth * plane_h * plane_w * per_token
    if config["include_top"]:
        macs += dims[-1] * config["num_classes"]
    return macs
