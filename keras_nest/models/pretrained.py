"""Weights by name: what `create_model(preset, weights=...)` accepts, and where the file comes from.

`weights` is one of:

- a key of the preset's `weights` (`"imagenet"` for the three ImageNet NesT
  presets): the file named by its `keras_nest.presets.PretrainedWeights`
  record, fetched from the Hugging Face hub;
- `"hf://ORG/REPO"` (the repository's `model.safetensors`, timm layout) or
  `"hf://ORG/REPO/FILE"` (a `.safetensors` / `.pth` / `.bin` timm checkpoint,
  or a keras_nest `.keras` / `.weights.h5` file);
- a local path to any of those files.

Downloads go through `huggingface_hub.hf_hub_download` into its standard
cache, so `HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE=1` and files already in
the cache behave as they do for every Hugging Face library. Every hub file is
checked before it is loaded: against the SHA-256 its record stores, and, for
files the hub keeps in Git LFS (all checkpoints), against the SHA-256 the hub
declared at download time (the name of the cached blob). A mismatch refuses
the file and deletes nothing.
"""

import dataclasses
import hashlib
import json
import os
import re
import zipfile
from typing import Optional

from keras_nest.errors import (
    ChecksumMismatchError,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    WeightsNotFoundError,
)

HF_PREFIX = "hf://"
DEFAULT_HUB_FILE = "model.safetensors"
TIMM_EXTENSIONS = (".safetensors", ".pth", ".pt", ".bin")
KERAS_EXTENSIONS = (".keras", ".weights.h5")
# What a keras_nest `.keras` file passes on to a model built from it: the GELU form its weights were
# trained with and the input normalisation its features expect.
CARRIED_KEYS = ("gelu_approximate", "include_preprocessing", "pixel_mean", "pixel_std", "crop_pct")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """A weights file on disk (what it brings to the model's config: `weights_config`).

    - `path`: local file.
    - `layout`: `"timm"` (PyTorch names and layouts) or `"keras"` (a
      keras_nest `.keras` / `.weights.h5` file).
    - `origin`: where it came from, for messages (`"timm/nest_tiny_jx.goog_in1k/model.safetensors"`).
    """

    path: str
    layout: str
    origin: str


@dataclasses.dataclass(frozen=True)
class _HubFile:
    repo_id: str
    filename: str
    revision: str = "main"
    sha256: Optional[str] = None

    @property
    def origin(self):
        return f"{self.repo_id}/{self.filename}"

    @property
    def url(self):
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision}/{self.filename}"


def layout_of(filename):
    """`"timm"` or `"keras"` from a weights file's name.

    Raises:
        ValueError: an extension neither layout uses (the message lists them).

    >>> layout_of("model.safetensors"), layout_of("runs/x/best.keras")
    ('timm', 'keras')
    """
    if filename.endswith(TIMM_EXTENSIONS):
        return "timm"
    if filename.endswith(KERAS_EXTENSIONS):
        return "keras"
    raise InvalidValueError(f"Unsupported weights file {filename!r}: use a timm checkpoint "
                            f"({', '.join(TIMM_EXTENSIONS)}) or a keras_nest file ({', '.join(KERAS_EXTENSIONS)}).")


def published_record(preset, weights):
    """The preset's `PretrainedWeights` record that `weights` names (its key, or a hub handle of its file).

    `None` for other hub handles and paths.

    Raises:
        TypeError: `weights` is not a string or path.
        ValueError: a bare name that is not one of the preset's.
    """
    if not isinstance(weights, (str, os.PathLike)):
        names = "".join(f"{k!r}, " for k in preset.weights)
        note = "" if names else f" ({preset.name} has no published weights)"
        raise InvalidTypeError(f"weights must be None, {names}'hf://ORG/REPO[/FILE]' or a file path{note}; "
                               f"got {weights!r}.")
    weights = os.fspath(weights)
    if weights in preset.weights:
        return preset.weights[weights]
    for record in preset.weights.values():  # a hub handle naming a published file is that record
        if weights in (f"{HF_PREFIX}{record.repo_id}", f"{HF_PREFIX}{record.repo_id}/{record.filename}"):
            return record
    if not weights.startswith(HF_PREFIX) and not os.path.splitext(weights)[1] and not os.path.exists(weights):
        names = ", ".join(repr(k) for k in preset.weights) or "none"
        raise InvalidValueError(f"Unknown weights {weights!r} for {preset.name!r}: its published weights are "
                                f"{names}; otherwise give 'hf://ORG/REPO[/FILE]' or a file path.")
    return None


def _hub_handle(weights):
    """`hf://ORG/REPO[/FILE]` as a `_HubFile`."""
    parts = weights[len(HF_PREFIX):].strip("/").split("/")
    if len(parts) < 2 or not all(parts):
        raise InvalidValueError(f"A hub handle reads 'hf://ORG/REPO' or 'hf://ORG/REPO/FILE', got {weights!r}.")
    filename = "/".join(parts[2:]) or DEFAULT_HUB_FILE
    layout_of(filename)
    return _HubFile("/".join(parts[:2]), filename)


def weights_config(preset, weights):
    """The constructor arguments `weights` brings, without downloading anything.

    A published record's `config` (also for a hub handle naming its file); a
    keras_nest `.keras` file's preprocessing and GELU form (`CARRIED_KEYS`,
    read from its stored config); timm's erf GELU for other timm checkpoints
    (their input normalisation is not recorded in the file); `{}` otherwise.

    >>> from keras_nest.presets import get_preset
    >>> config = weights_config(get_preset("nest_tiny_imagenet"), "imagenet")
    >>> config["crop_pct"], config["gelu_approximate"], config["pixel_mean"]
    (0.875, False, (0.485, 0.456, 0.406))
    """
    record = published_record(preset, weights)
    if record is not None:
        return dict(record.config)
    path = os.fspath(weights)
    if path.startswith(HF_PREFIX):
        path = _hub_handle(path).filename
    elif path.endswith(".keras") and os.path.exists(path):
        return _keras_file_config(path)
    return {"gelu_approximate": False} if path.endswith(TIMM_EXTENSIONS) else {}  # timm computes the exact GELU


def _keras_file_config(path):
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))["config"]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return {}  # loading it reports the damage, naming the file
    carried = {key: config[key] for key in CARRIED_KEYS if key in config}
    if not carried.get("include_preprocessing"):  # what its inputs were normalised with is not recorded
        carried = {k: v for k, v in carried.items() if k not in ("include_preprocessing", "pixel_mean", "pixel_std")}
    return carried


def fetch_weights(preset, weights):
    """The `WeightsFile` for `weights` (see the module docstring), downloaded and checked.

    Raises:
        MissingDependencyError: a hub file is needed and `huggingface_hub`
            is not installed.
        WeightsNotFoundError: a hub file is neither cached nor downloadable
            (offline); the message names the file, the repository and how
            to place it by hand.
        ChecksumMismatchError: the file's SHA-256 is not the recorded one.
        FileNotFoundError: a local path that does not exist.
        ValueError: an unknown name, a malformed handle or extension.

    >>> from keras_nest.presets import get_preset
    >>> fetch_weights(get_preset("nest_nano_16"), "imagenet")
    Traceback (most recent call last):
    ...
    keras_nest.errors.InvalidValueError: Unknown weights 'imagenet' for 'nest_nano_16': its published weights ...
    """
    record = published_record(preset, weights)
    if record is not None:
        hub = _HubFile(record.repo_id, record.filename, record.revision, record.sha256)
        return WeightsFile(_download(hub), record.layout, hub.origin)
    weights = os.fspath(weights)
    if weights.startswith(HF_PREFIX):
        hub = _hub_handle(weights)
        return WeightsFile(_download(hub), layout_of(hub.filename), hub.origin)
    layout = layout_of(weights)
    if not os.path.exists(weights):
        raise FileNotFoundError(f"No weights file at {weights!r}.")
    return WeightsFile(weights, layout, weights)


def _download(hub):
    """The local path of `hub`'s file: from the hub cache, else downloaded into it; checked."""
    try:
        import huggingface_hub
        from huggingface_hub import constants
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            HFValidationError,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError as error:
        raise MissingDependencyError(
            f"Downloading {hub.origin} needs huggingface_hub: pip install 'keras-nest[hub]' "
            "(or download the file yourself and pass weights=PATH)."
        ) from error
    try:
        path = huggingface_hub.hf_hub_download(hub.repo_id, hub.filename, revision=hub.revision,
                                               library_name="keras-nest")
    except HFValidationError as error:
        raise InvalidValueError(f"{hub.repo_id!r} is not a Hugging Face repository id ({error}).") from None
    except RepositoryNotFoundError as error:  # also gated repositories without access
        raise WeightsNotFoundError(
            f"The Hugging Face repository {hub.repo_id!r} does not exist or needs access ({type(error).__name__}): "
            "check the name; for a gated or private one, log in with `hf auth login` or set HF_TOKEN.") from None
    except RemoteEntryNotFoundError:
        raise WeightsNotFoundError(f"The Hugging Face repository {hub.repo_id!r} has no file {hub.filename!r} at "
                                   f"revision {hub.revision!r}: check the name (hf://ORG/REPO/FILE).") from None
    except (EntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise WeightsNotFoundError(_not_found_message(hub, error, constants)) from error
    expected = [(hub.sha256, "recorded for it"), (hub_declared_sha256(path), "the hub declared for it")]
    check_sha256(path, [(digest, whose) for digest, whose in expected if digest is not None], hub.origin)
    return path


def _not_found_message(hub, error, constants):
    offline = " (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else ""
    return (
        f"Cannot get {hub.filename!r} of the Hugging Face repository {hub.repo_id!r}{offline}: it is not in the "
        f"hub cache ({constants.HF_HUB_CACHE}) and could not be downloaded ({type(error).__name__}). Either "
        f"run, on a machine with network, `hf download {hub.repo_id} {hub.filename}` and copy its "
        f"models--{hub.repo_id.replace('/', '--')} folder into that cache, or download {hub.url} and pass "
        "weights=<that file's path>."
    )


def file_sha256(path, chunk_size=1 << 20):
    """Hex SHA-256 of a file, read in 1 MiB chunks.

    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> _ = file.write_bytes(b"abc")
    >>> file_sha256(file)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hub_declared_sha256(path):
    """The SHA-256 the hub declared for a cached file, or `None`.

    The hub cache stores each Git-LFS file as `blobs/<its SHA-256>` and links
    it from `snapshots/<commit>/<filename>`; other files (git blobs, copies
    where links are unavailable) declare nothing here.
    """
    blob = os.path.realpath(path)
    name = os.path.basename(blob)
    if os.path.basename(os.path.dirname(blob)) == "blobs" and _SHA256.fullmatch(name):
        return name
    return None


def check_sha256(path, expected, origin):
    """Raises `ChecksumMismatchError` unless `path` hashes to every digest of `expected`.

    `expected`: `[(hex digest, whose it is)]`, e.g. `("ab12...", "recorded
    for it")`; the file is read once, and not at all when it is empty. The
    file is left where it is: the hub cache belongs to the user.
    """
    if not expected:
        return
    actual = file_sha256(path)
    for digest, whose in expected:
        if actual != digest.lower():
            raise ChecksumMismatchError(
                f"{origin}: the file {path} has SHA-256 {actual}, not the {digest} {whose}. It was not loaded "
                "and nothing was deleted. It is damaged or not the published file: delete it and download it "
                "again (`hf download ... --force-download`), or pass the file you trust as weights=PATH."
            )
