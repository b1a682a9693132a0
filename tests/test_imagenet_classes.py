"""ImageNet-1k class names shipped in the package, the tool that generates them, and `decode_predictions`."""

import glob
import importlib.resources
import re
import zipfile

import numpy as np
import pytest

import keras_nest
from keras_nest.errors import InvalidTypeError, InvalidValueError
from keras_nest.imagenet_classes import imagenet_class_names, imagenet_wnids
from keras_nest.predict import decode_predictions
from tools import make_imagenet_classes as tool

SHIPPED = importlib.resources.files("keras_nest").joinpath("imagenet_classes.tsv").read_text(encoding="utf-8")

# A tiny timm: three synsets in class order, two of them sharing a first lemma.
FAKE_SYNSETS = "n01000001\nn01000002\nn01000003\n"
FAKE_LEMMAS = ("n00000009\tunused, not in the list\n"
               "n01000001\tcrane\n"
               "n01000002\tgoldfish, Carassius auratus\n"
               "n01000003\tcrane, derrick\n")


def test_names_and_wnids():
    names, wnids = imagenet_class_names(), imagenet_wnids()
    assert isinstance(names, tuple) and isinstance(wnids, tuple)
    assert len(names) == len(set(names)) == 1000 and len(wnids) == len(set(wnids)) == 1000
    assert all(re.fullmatch(r"n\d{8}", w) for w in wnids) and list(wnids) == sorted(wnids)
    assert (wnids[0], names[0]) == ("n01440764", "tench")
    assert (wnids[1], names[1]) == ("n01443537", "goldfish")
    assert (wnids[999], names[999]) == ("n15075141", "toilet tissue")
    assert {names[wnids.index(w)] for w in ("n02012849", "n03126707", "n03710637", "n03710721")} == {
        "crane (n02012849)", "crane (n03126707)", "maillot (n03710637)", "maillot (tank suit)"}
    assert imagenet_class_names() is names  # cached


def test_shipped_file_header_names_its_source():
    header = [line for line in SHIPPED.splitlines() if line.startswith("#")]
    assert re.search(r"timm \d+\.\d+\.\d+ \(Apache-2.0", "\n".join(header))
    assert tool.SYNSETS in "\n".join(header) and tool.LEMMAS in "\n".join(header)
    assert len(SHIPPED.splitlines()) == len(header) + 1000


def _fake_timm(tmp_path, as_wheel):
    files = {tool.SYNSETS: FAKE_SYNSETS, tool.LEMMAS: FAKE_LEMMAS, tool.VERSION: "__version__ = '9.8.7'\n"}
    if as_wheel:
        wheel = tmp_path / "timm-9.8.7-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            for member, text in files.items():
                archive.writestr(member, text)
        return wheel
    for member, text in files.items():
        (tmp_path / member).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / member).write_text(text)
    return tmp_path / "timm"


@pytest.mark.parametrize("as_wheel", [True, False], ids=["wheel", "package-folder"])
def test_tool_format_and_disambiguation(tmp_path, as_wheel):
    out = tmp_path / "classes.tsv"
    tool.main([str(_fake_timm(tmp_path, as_wheel)), "--output", str(out), "--num-classes", "3"])
    lines = out.read_text().splitlines()
    assert all(line.startswith("# ") for line in lines[:-3]) and "timm 9.8.7 (Apache-2.0" in lines[1]
    assert lines[-3:] == ["n01000001\tcrane (n01000001)", "n01000002\tgoldfish", "n01000003\tcrane (derrick)"]
    with pytest.raises(SystemExit, match="lists 3 synsets, expected 1000"):
        tool.render(tool.read_timm_files(_fake_timm(tmp_path, as_wheel)))


def test_tool_regenerates_the_shipped_file(tmp_path):
    """From the timm wheel named in the header when /tmp/timm_whl has it (`pip download timm --no-deps -d
    /tmp/timm_whl`); otherwise from a timm rebuilt out of the shipped file itself, which checks that the tool
    reproduces the shipped names from their lemmas (the collisions' second lemmas rebuilt by hand)."""
    version = re.search(r"from timm (\S+) ", SHIPPED).group(1)
    wheels = glob.glob(f"/tmp/timm_whl/timm-{version}-*.whl")
    if wheels:
        source = wheels[0]
    else:
        lemmas = {}
        for wnid, name in zip(imagenet_wnids(), imagenet_class_names()):
            match = re.fullmatch(r"(.+) \((.+)\)", name)
            lemmas[wnid] = name if not match else match[1] if match[2] == wnid else f"{match[1]}, {match[2]}"
        (tmp_path / "timm/data/_info").mkdir(parents=True)
        (tmp_path / tool.SYNSETS).write_text("\n".join(imagenet_wnids()) + "\n")
        (tmp_path / tool.LEMMAS).write_text("".join(f"{w}\t{lemma}\n" for w, lemma in lemmas.items()))
        (tmp_path / tool.VERSION).write_text(f"__version__ = '{version}'\n")
        source = tmp_path / "timm"
    out = tmp_path / "regenerated.tsv"
    tool.main([str(source), "--output", str(out)])
    assert out.read_text(encoding="utf-8") == SHIPPED


def test_decode_logits_and_probabilities_alike():
    logits = np.random.default_rng(0).normal(size=(3, 1000)) * 3
    logits[1] -= 50  # all negative: still logits
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    from_logits = decode_predictions(logits, top=4)
    from_probabilities = decode_predictions(probabilities.astype(np.float32), top=4)
    assert len(from_logits) == 3 and all(len(row) == 4 for row in from_logits)
    for row_l, row_p, p in zip(from_logits, from_probabilities, probabilities):
        assert [c[:2] for c in row_l] == [c[:2] for c in row_p]
        order = np.argsort(-p)[:4]
        assert [c[0] for c in row_l] == [imagenet_wnids()[i] for i in order]
        assert [c[1] for c in row_l] == [imagenet_class_names()[i] for i in order]
        np.testing.assert_allclose([c[2] for c in row_l], p[order], rtol=1e-9)
        np.testing.assert_allclose([c[2] for c in row_p], p[order], rtol=1e-5)
        assert all(type(c[2]) is float for c in row_l + row_p)
    assert from_logits[0][0][2] >= from_logits[0][1][2] >= from_logits[0][3][2]


def test_decode_accepts_tensors_and_keeps_probability_rows():
    import tensorflow as tf

    rows = tf.constant([[0.1, 0.6, 0.3], [2.0, 0.0, 0.0]])  # probabilities, then logits (sum 2)
    decoded = decode_predictions(rows, top=3, class_names=["cat", "dog", "fox"])
    assert [c[:2] for c in decoded[0]] == [("1", "dog"), ("2", "fox"), ("0", "cat")]
    np.testing.assert_allclose([c[2] for c in decoded[0]], [0.6, 0.3, 0.1], rtol=1e-6)
    softmax = np.exp([2.0, 0.0, 0.0]) / np.exp([2.0, 0.0, 0.0]).sum()
    assert [c[:2] for c in decoded[1]] == [("0", "cat"), ("1", "dog"), ("2", "fox")]  # ties keep class order
    np.testing.assert_allclose([c[2] for c in decoded[1]], softmax)


def test_top_is_clipped_to_the_class_count():
    decoded = decode_predictions([[0.5, 0.25, 0.25]], top=10, class_names=("a", "b", "c"))
    assert [c[0] for c in decoded[0]] == ["0", "1", "2"]
    assert len(decode_predictions(np.zeros((2, 1000)), top=1000)[1]) == 1000
    assert decode_predictions(np.zeros((0, 3)), class_names=["a", "b", "c"]) == []


def test_decode_a_three_class_model():
    model = keras_nest.create_model("nest_nano_16", num_classes=3, class_names=["cat", "dog", "fox"], seed=0)
    outputs = model.predict(np.zeros((2, 16, 16, 3), np.float32), verbose=0)
    decoded = decode_predictions(outputs, top=2, class_names=model.class_names)
    assert len(decoded) == 2 and all(len(row) == 2 for row in decoded)
    assert all(name == model.class_names[int(i)] for row in decoded for i, name, _ in row)
    assert all(0 <= score <= 1 for row in decoded for _, _, score in row)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(predictions=np.zeros(1000)), InvalidValueError,
         r"shape \(batch, num_classes\), got shape \(1000,\)\. For one image pass predictions\[None\]"),
        (dict(predictions=np.zeros((1, 2, 1000))), InvalidValueError, r"got shape \(1, 2, 1000\)\.$"),
        (dict(predictions=np.zeros((2, 10))), InvalidValueError,
         r"predictions have 10 classes \(shape \(2, 10\)\) but the ImageNet names \(class_names=None\) are for "
         r"1000; pass the model's class names, class_names=model.class_names"),
        (dict(predictions=np.zeros((2, 4)), class_names=["a", "b", "c"]), InvalidValueError,
         r"class_names has 3 names but predictions have 4 classes \(shape \(2, 4\)\); pass one name per class"),
        (dict(predictions=np.zeros((1, 3)), class_names="abc"), InvalidTypeError,
         r"class_names must be a list or tuple of names"),
        (dict(predictions=np.zeros((1, 2)), class_names=["a", "a"]), InvalidValueError, r"must be distinct"),
        (dict(predictions=np.zeros((1, 1000)), top=0), InvalidValueError, r"^top must be an int >= 1, got 0\.$"),
        (dict(predictions=np.zeros((1, 1000)), top=2.0), InvalidTypeError, r"^top must be an int >= 1, got 2\.0"),
        (dict(predictions=np.zeros((1, 1000)), top=True), InvalidTypeError, r"^top must be an int >= 1, got True"),
        (dict(predictions=[["x", "y"]], class_names=["a", "b"]), InvalidTypeError,
         r"predictions must be a \(batch, num_classes\) array of numbers"),
        (dict(predictions=[[0.0, np.nan]], class_names=["a", "b"]), InvalidValueError, r"NaN or infinite"),
    ],
)
def test_decode_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        decode_predictions(**kwargs)
