"""Property-based fuzzing of the model, generator and layer constructors (issue 9).

The property is deliberately narrow: for any mix of arguments (ints including
zero and negatives, floats, `None`, strings, bools) a constructor either
raises `ValueError` / `TypeError`, or what it built runs forward on a small
batch and returns the output shape the arguments imply. No other exception,
no hang, no wrong shape.

Sizes stay tiny (sides <= 32, widths <= 32, depths <= 2) and the example
counts below keep the whole file near a minute on two CPU cores.
`derandomize=True` makes CI draw the same cases on every run. Each test
checks that Hypothesis ran at least its intended number of cases, and
prints the count and time (visible with `pytest -s`).
"""

import time
from collections import Counter

import hypothesis
import keras
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import keras_nest
from keras_nest import layers

MODEL_EXAMPLES = 150
GENERATOR_EXAMPLES = 60
LAYER_EXAMPLES = 80

CASES = Counter()  # cases run per fuzz target
OUTCOMES = Counter()  # (target, "built" | error type) -> count

FUZZ = settings(
    max_examples=MODEL_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values that are wrong for an int argument in some way (or right by luck: 1, 2, ...).
WILD = st.one_of(
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([2.0, 16.0, 0.5]),
    st.none(),
    st.booleans(),
    st.text(max_size=3),
)


def _maybe_wild(draw, valid, odds=5):
    """`valid` (a value or a strategy) most of the time, else a wild value."""
    if draw(st.integers(0, odds - 1)) == 0:
        return draw(WILD)
    return draw(valid) if isinstance(valid, st.SearchStrategy) else valid


def _corrupt_sequence(draw, values):
    """The tuple `values`, or it with one entry wild, or a list, or something else entirely."""
    mode = draw(st.sampled_from(["keep"] * 5 + ["list", "entry", "whole", "drop"]))
    if mode == "list":
        return list(values)
    if mode == "entry":
        values = list(values)
        values[draw(st.integers(0, len(values) - 1))] = draw(WILD)
        return tuple(values)
    if mode == "whole":
        return draw(WILD)
    if mode == "drop":
        return tuple(values[:-1])
    return tuple(values)


@st.composite
def nest_overrides(draw):
    levels = draw(st.integers(1, 3))
    dims = [draw(st.sampled_from([4, 8, 16, 32])) for _ in range(levels)]
    heads = [draw(st.sampled_from([h for h in (1, 2, 4) if d % h == 0])) for d in dims]
    depths = [draw(st.integers(1, 2)) for _ in range(levels)]
    overrides = {
        "embed_dims": _corrupt_sequence(draw, dims),
        "num_heads": _corrupt_sequence(draw, heads),
        "depths": _corrupt_sequence(draw, depths),
    }
    optional = {
        "input_shape": lambda: _corrupt_sequence(
            draw,
            (draw(st.sampled_from([8, 16, 32, 12])), draw(st.sampled_from([8, 16, 32])),
             draw(st.sampled_from([1, 3]))),
        ),
        "patch_size": lambda: _maybe_wild(draw, st.sampled_from([1, 2, 4])),
        "mlp_ratio": lambda: _maybe_wild(draw, st.floats(0.05, 4.0)),
        "drop_path_rate": lambda: _maybe_wild(draw, st.floats(0.0, 0.99)),
        "num_classes": lambda: _maybe_wild(draw, st.integers(1, 12)),
        "include_top": lambda: _maybe_wild(draw, st.booleans()),
        "pooling": lambda: _maybe_wild(draw, st.sampled_from([None, "avg", "max"])),
        "attention": lambda: _maybe_wild(draw, st.sampled_from(["multi_head", "multi_query"])),
    }
    for key, make in optional.items():
        if draw(st.booleans()):
            overrides[key] = make()
    return overrides


def _expected_model_output(overrides):
    shape = tuple(overrides.get("input_shape", (16, 16, 3)))
    if len(shape) == 2:
        shape = (*shape, 3)
    levels = len(overrides["depths"])
    top = [side // overrides.get("patch_size", 1) // 2 ** (levels - 1) for side in shape[:2]]
    width = overrides["embed_dims"][-1]
    if overrides.get("include_top", True):
        return shape, (2, overrides.get("num_classes", 10))
    if overrides.get("pooling") is None:
        return shape, (2, *top, width)
    return shape, (2, width)


def _run_case(target, build, forward):
    """Builds; a ValueError/TypeError is fine, anything else fails; a build must run forward."""
    CASES[target] += 1
    try:
        built = build()
    except (ValueError, TypeError) as error:
        OUTCOMES[target, type(error).__name__] += 1
        return
    OUTCOMES[target, "built"] += 1
    forward(built)
    keras.backend.clear_session()


def _check_count(target, intended, start):
    elapsed = time.perf_counter() - start
    outcomes = {k[1]: v for k, v in OUTCOMES.items() if k[0] == target}
    print(f"\nfuzz {target}: {CASES[target]} cases in {elapsed:.1f} s {outcomes}")
    assert CASES[target] >= intended, f"only {CASES[target]} {target} cases ran, wanted {intended}"


# --- create_model ----------------------------------------------------------------------------------


@FUZZ
@hypothesis.given(nest_overrides())
def _fuzz_create_model(overrides):
    def forward(model):
        shape, expected = _expected_model_output(overrides)
        out = model(np.zeros((2, *shape), "float32"), training=False)
        assert tuple(out.shape) == expected, (overrides, tuple(out.shape), expected)

    _run_case("create_model", lambda: keras_nest.create_model("nest_nano_16", **overrides), forward)


def test_fuzz_create_model():
    start = time.perf_counter()
    _fuzz_create_model()
    _check_count("create_model", MODEL_EXAMPLES, start)


# --- create_generator ------------------------------------------------------------------------------


@st.composite
def generator_overrides(draw):
    levels = draw(st.integers(1, 2))
    block, patch = draw(st.sampled_from([2, 4])), draw(st.sampled_from([1, 2]))
    dims = [draw(st.sampled_from([4, 8, 16])) for _ in range(levels)]
    overrides = {
        "image_size": _maybe_wild(draw, st.just(block * 2 ** (levels - 1) * patch)),
        "block_size": _maybe_wild(draw, st.just(block)),
        "patch_size": _maybe_wild(draw, st.just(patch)),
        "embed_dims": _corrupt_sequence(draw, dims),
        "num_heads": _corrupt_sequence(draw, [draw(st.sampled_from([1, 2])) for _ in dims]),
        "depths": _corrupt_sequence(draw, [1] * levels),
        "latent_dim": _maybe_wild(draw, st.integers(1, 8)),
    }
    if draw(st.booleans()):
        overrides["channels"] = _maybe_wild(draw, st.integers(1, 3))
    if draw(st.booleans()):
        overrides["mlp_ratio"] = _maybe_wild(draw, st.floats(0.25, 4.0))
    return overrides


@settings(FUZZ, max_examples=GENERATOR_EXAMPLES)
@hypothesis.given(generator_overrides())
def _fuzz_create_generator(overrides):
    def forward(generator):
        side, channels = overrides["image_size"], overrides.get("channels", 3)
        out = generator(np.zeros((2, overrides["latent_dim"]), "float32"), training=False)
        assert tuple(out.shape) == (2, side, side, channels), overrides

    _run_case("create_generator", lambda: keras_nest.create_generator("nest_gan_tiny", **overrides), forward)


def test_fuzz_create_generator():
    start = time.perf_counter()
    _fuzz_create_generator()
    _check_count("create_generator", GENERATOR_EXAMPLES, start)


# --- Layers ----------------------------------------------------------------------------------------


def _ints(low, high):
    return st.integers(low, high)


@st.composite
def layer_cases(draw):
    """`(make, input shape, expected output shape or None for "same as input")`."""
    kind = draw(st.sampled_from(["patch", "partition", "attention", "block", "drop_path", "level", "shuffle"]))
    if kind == "patch":
        dim, patch = _maybe_wild(draw, _ints(1, 8)), _maybe_wild(draw, _ints(1, 4))
        return (lambda: layers.PatchEmbedding(dim, patch), (2, 8, 8, 3),
                lambda: (2, 8 // patch, 8 // patch, dim))
    if kind == "partition":
        block = _maybe_wild(draw, st.one_of(_ints(1, 4), st.tuples(_ints(1, 4), _ints(1, 4))))
        def expected():
            bh, bw = (block, block) if isinstance(block, int) else block
            return (2, (8 // bh) * (8 // bw), bh * bw, 4)
        return (lambda: layers.BlockPartition(block), (2, 8, 8, 4), expected)
    if kind == "attention":
        heads = _maybe_wild(draw, st.sampled_from([1, 2, 4]))
        kv = _maybe_wild(draw, st.sampled_from([None, 1, 2]))
        dropout = _maybe_wild(draw, st.floats(0.0, 0.9))
        return (lambda: layers.LocalSelfAttention(heads, num_key_value_heads=kv, dropout=dropout),
                (2, 2, 4, 8), None)
    if kind == "block":
        kwargs = dict(
            num_heads=_maybe_wild(draw, st.sampled_from([1, 2, 4])),
            mlp_ratio=_maybe_wild(draw, st.floats(0.05, 4.0)),
            drop_path_rate=_maybe_wild(draw, st.floats(0.0, 0.9)),
            dropout=_maybe_wild(draw, st.floats(0.0, 0.9)),
            gelu_approximate=_maybe_wild(draw, st.booleans()),
            seed=_maybe_wild(draw, st.one_of(st.none(), _ints(0, 5))),
        )
        return (lambda: layers.TransformerBlock(**kwargs), (2, 2, 4, 8), None)
    if kind == "drop_path":
        rate, seed = _maybe_wild(draw, st.floats(0.0, 0.99)), _maybe_wild(draw, st.none())
        return (lambda: layers.DropPath(rate, seed=seed), (4, 3), None)
    if kind == "level":
        num_layers = _maybe_wild(draw, _ints(1, 2))
        rates = _maybe_wild(draw, st.one_of(st.none(), st.lists(st.floats(0.0, 0.5), min_size=1, max_size=2)))
        heads = _maybe_wild(draw, st.sampled_from([1, 2]))
        return (lambda: layers.NestLevel(num_layers, heads, drop_path_rates=rates), (2, 2, 4, 8), None)
    filters, scale = _maybe_wild(draw, _ints(1, 8)), _maybe_wild(draw, _ints(1, 3))
    return (lambda: layers.PixelShuffleUpsample(filters, scale=scale), (2, 2, 2, 4),
            lambda: (2, 2 * scale, 2 * scale, filters))


@settings(FUZZ, max_examples=LAYER_EXAMPLES)
@hypothesis.given(layer_cases())
def _fuzz_layers(case):
    make, input_shape, expected = case

    def forward(layer):
        # Shape problems that only the input reveals (a width not divisible by the
        # heads, an image side not divisible by the patch) are ValueErrors at build.
        try:
            out = layer(np.ones(input_shape, "float32"), training=True)
        except ValueError:
            return
        want = input_shape if expected is None else expected()
        assert tuple(out.shape) == tuple(want), (layer.get_config(), tuple(out.shape), want)

    _run_case("layers", make, forward)


def test_fuzz_layers():
    start = time.perf_counter()
    _fuzz_layers()
    _check_count("layers", LAYER_EXAMPLES, start)
