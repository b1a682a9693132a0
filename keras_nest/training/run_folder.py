"""One run-folder lifecycle for every kind of training (classifiers and GANs).

A run folder holds one training run. `RunFolder.open` makes or resumes it:

* **Lock.** The folder is locked (`.lock`, an OS file lock that dies with
  its process, `kill -9` included) while a run owns it; a second run into the
  same folder is refused at once.
* **One commit per epoch.** Everything an epoch produces (`last.keras`,
  `best.keras` when it improved, `state.json` with the history, `history.json`
  and `history.csv`,
  and any extra files such as a GAN's sample grid) is written into
  `.staging/`, which is then renamed to `.commit/`: that rename is the
  commit point. The files are then moved into place and `.commit/` removed.
  Opening the folder finishes a commit that was interrupted after its
  commit point (roll forward) and discards a staging folder that never
  reached it (roll back), so checkpoint, state and history always describe
  the same epoch, wherever a process was killed.
* **Refusal over replacement.** Checkpoints without a valid `state.json`
  are never overwritten, a folder that holds a run is resumed only when
  asked, and a resumed run must describe the same training (its `identity`:
  model, data, batch size, ...); what may change on resume is the caller's
  choice (e.g. the recipe's epochs and learning rate).
* **Clean up.** Temporaries of a killed atomic write (`.tmp-*`) are removed
  on open; files get the user's usual permissions.

`state.json` (format 1): `{"format": 1, "kind", "epoch", "best", "monitor",
"identity", "settings", "history"}`; `epoch` counts committed epochs
(a GAN's "epochs" are chunks of `checkpoint_every` steps).

Example:

>>> import tempfile, os
>>> out = os.path.join(tempfile.mkdtemp(), "run")
>>> def write_checkpoint(path):  # stands in for model.save
...     open(path, "w").close()
>>> with RunFolder.open(out, kind="demo", identity={"model": "m"}, resume=False) as run:
...     run.start(settings={"epochs": 2})
...     run.commit_epoch({"loss": 0.5}, files={LAST: write_checkpoint})
...     run.state.epoch
1
>>> with RunFolder.open(out, kind="demo", identity={"model": "m"}, resume=True) as run:
...     run.state.epoch, [row["epoch"] for row in run.state.history]
(1, [1])
>>> RunFolder.open(out, kind="demo", identity={"model": "other"}, resume=True)
Traceback (most recent call last):
    ...
keras_nest.training.run_folder.RunFolderError: Cannot resume ...: it was trained with model='m'; ...
"""

import csv
import dataclasses
import io
import json
import os
import shutil
import sys
import tempfile

from keras_nest.errors import InputError
from keras_nest.io_utils import TEMPORARY_PREFIX, atomic_write, read_json, write_json

STATE = "state.json"
LAST = "last.keras"
BEST = "best.keras"
HISTORY = "history.json"
HISTORY_CSV = "history.csv"
RESULT = "result.json"
LOCK = ".lock"
STAGING = ".staging"
COMMIT = ".commit"
STATE_FORMAT = 1
# What marks a folder as holding a run (the first three are never overwritten without a state).
RUN_FILES = (LAST, BEST, "generator.keras", STATE, RESULT)


class RunFolderError(InputError, ValueError):
    """A run folder cannot be used as asked: busy, corrupt, or another run.

    The message names the file or setting and what to do. A `ValueError`,
    so the CLI reports it in one line with exit status 2.
    """


class RunExistsError(RunFolderError, FileExistsError):
    """The folder already holds a run and `resume` was not asked for."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the epoch was not committed (CLI exit 3)."""


def is_chief():
    """Only the chief of a multi-worker cluster (TF) or process 0 of several (JAX) writes the run folder."""
    if "jax" in sys.modules:
        import jax

        if jax.distributed.is_initialized():
            return jax.process_index() == 0
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task")
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


@dataclasses.dataclass(frozen=True)
class RunState:
    """What `state.json` records: the committed epochs and the run's description."""

    kind: str
    epoch: int
    identity: dict
    settings: dict
    history: tuple = ()
    best: float = None
    monitor: str = None

    def to_json(self):
        return {"format": STATE_FORMAT, **dataclasses.asdict(self), "history": list(self.history)}

    @classmethod
    def from_json(cls, data, path):
        fields = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or not fields <= set(data):
            raise RunFolderError(
                f"{path} is not a keras_nest run state (format {STATE_FORMAT} with {sorted(fields)}); "
                "it may be damaged or from an older version. The checkpoints beside it were left "
                "untouched: train into another folder."
            )
        epoch = data["epoch"]
        kinds = {"identity": dict, "settings": dict, "history": list, "kind": str}
        wrong = [name for name, kind in kinds.items() if not isinstance(data[name], kind)]
        wrong += ["history"] if not all(isinstance(row, dict) for row in data["history"] or []) else []
        if wrong:
            raise RunFolderError(f"{path} is damaged: {', '.join(sorted(set(wrong)))} has the wrong type; "
                                 "repair it or train into another folder.")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or len(data["history"]) != epoch:
            raise RunFolderError(f"{path} is inconsistent (epoch {epoch!r}, {len(data['history'])} history "
                                 "rows); repair it or train into another folder.")
        return cls(**{k: data[k] for k in fields if k != "history"}, history=tuple(data["history"]))


class RunFolder:
    """A locked run folder; see the module docstring. Use `RunFolder.open`.

    Attributes:
        path: the folder.
        state: the committed `RunState`, or `None` before `start`.
        resumed: whether an existing run was opened to continue.
        chief: `False` on the non-chief workers of a multi-worker run, which
            write into a private temporary folder (removed on `close`).
    """

    # Called as `fault_hook(point, epoch)` at each step of a commit; tests set it to kill the process there.
    fault_hook = None

    def __init__(self, path, kind, lock=None, state=None, chief=True, created=False, source=None):
        self.path, self.kind, self.state, self.chief = path, kind, state, chief
        self.resumed = state is not None
        self.source = source or path  # where checkpoints are read (a worker writes elsewhere)
        self._lock, self._created = lock, created
        self.identity = {}

    @classmethod
    def open(cls, path, *, kind, identity, resume):
        """Locks `path` (made if needed), recovers it, and checks it can be used.

        Args:
            path: the run folder.
            kind: `"classifier"`, `"gan"`, ...: a folder only resumes its kind.
            identity: JSON-able dict of what makes two runs the same
                training; resuming with any other value is refused.
            resume: continue the run in `path`. Without it, a folder that
                holds a run (or any checkpoint) is refused. With it, an empty
                folder starts a new run.

        Raises:
            RunFolderError: the folder is busy, holds another run, holds
                checkpoints without a valid state, or cannot be written.
        """
        identity = json.loads(json.dumps(identity))  # tuples compare as the lists JSON stores
        if not is_chief():  # reads the chief's folder, writes a private one
            state = _read_state(path, kind) if resume else None
            return cls(tempfile.mkdtemp(prefix="keras_nest_worker_"), kind, state=state, chief=False,
                       source=path)
        created = not os.path.exists(path)
        lock = _lock(path)
        run = cls(path, kind, lock=lock, created=created)
        run.identity = identity
        try:
            _recover(path)
            run.state = _read_state(path, kind)
            run.resumed = run.state is not None
            _check_reuse(path, run.state, identity, resume)
        except BaseException:
            run.close()
            raise
        return run

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Releases the lock (or removes a non-chief worker's temporary folder).

        A folder this run created but never started (an error came first)
        is removed again, so a failed start leaves nothing behind.
        """
        if not self.chief:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        if self._lock is None:
            return
        self._lock.release()
        self._lock = None
        if self._created and self.state is None:
            for leftover in (self.file(LOCK), self.path):
                try:
                    os.rmdir(leftover) if leftover == self.path else os.remove(leftover)
                except OSError:
                    pass  # something else was put there: keep it

    def file(self, name):
        return os.path.join(self.path, name)

    def start(self, settings, identity=None, monitor=None):
        """Commits epoch 0 of a new run (or new `settings` for a resumed one).

        `identity` is what a new run stores (default: the one given to `open`,
        which may leave out values that take defaults).
        """
        settings = json.loads(json.dumps(settings))
        if self.state is None:
            identity = self.identity if identity is None else identity
            self.state = RunState(kind=self.kind, epoch=0, identity=json.loads(json.dumps(identity)),
                                  settings=settings, monitor=monitor)
        else:  # the old result describes an earlier end of the run
            self.state = dataclasses.replace(self.state, settings=settings)
            if os.path.exists(self.file(RESULT)):
                os.remove(self.file(RESULT))
        self._commit({})

    def commit_epoch(self, row, files, best=None):
        """Commits one epoch: its history `row`, `files` ({name: write(path)}) and the best score.

        Nothing of the epoch is visible until all of it is: see the module docstring.
        """
        epoch = self.state.epoch + 1
        history = (*self.state.history, {"epoch": epoch, **row})
        self.state = dataclasses.replace(self.state, epoch=epoch, history=history,
                                         best=self.state.best if best is None else best)
        self._commit(files)

    def _commit(self, files):
        staging, commit = self.file(STAGING), self.file(COMMIT)
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        epoch = self.state.epoch
        for name, write in files.items():
            os.makedirs(os.path.dirname(os.path.join(staging, name)), exist_ok=True)
            write(os.path.join(staging, name))
        _write_csv(os.path.join(staging, HISTORY_CSV), self.state.history)
        write_json(os.path.join(staging, HISTORY), list(self.state.history))
        write_json(os.path.join(staging, STATE), self.state.to_json())
        self._fault("staged", epoch)
        os.rename(staging, commit)  # the commit point
        self._fault("committed", epoch)
        _apply_commit(self.path, fault=lambda name: self._fault(f"moved:{name}", epoch))

    def _fault(self, point, epoch):
        if RunFolder.fault_hook is not None:
            RunFolder.fault_hook(point, epoch)

    def load_model(self, name=LAST, compile=True):
        """A `.keras` file of this run, or a `RunFolderError` naming it and what is wrong."""
        return load_checkpoint(os.path.join(self.source, name), compile=compile)

    def write_result(self, result):
        """`result.json`, written atomically (the run's last file)."""
        write_json(self.file(RESULT), result)

    @property
    def finished(self):
        return os.path.exists(self.file(RESULT))


def load_checkpoint(path, compile=True):
    """Loads a `.keras` checkpoint; a missing, truncated or damaged file is a `RunFolderError`."""
    from keras_nest.models import load_saved_model

    if not os.path.exists(path):
        raise RunFolderError(f"{path} is missing; the run folder is incomplete.")
    try:
        return load_saved_model(path, compile=compile)
    except ValueError as error:  # damaged archive; the message names the file
        raise RunFolderError(f"{error} Or train into another folder.") from None


def _lock(path):
    import filelock

    try:
        os.makedirs(path, exist_ok=True)
        lock = filelock.FileLock(os.path.join(path, LOCK), timeout=0)
        lock.acquire()
    except filelock.Timeout:
        raise RunFolderError(f"{path} is in use by another training run (locked: {os.path.join(path, LOCK)}). "
                             "Wait for it to finish or choose another output folder.") from None
    except OSError as error:
        raise RunFolderError(f"Cannot use {path!r} as a run folder: {error.strerror or error}. "
                             "Choose a folder you can write to.") from None
    probe = os.path.join(path, f"{TEMPORARY_PREFIX}probe")
    try:  # a read-only mount or folder fails here, before any model or data is built
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        lock.release()
        raise RunFolderError(f"Cannot write to {path!r}: {error.strerror or error}. "
                             "Choose a folder you can write to.") from None
    return lock


def _recover(path):
    """Finishes an interrupted commit, drops unfinished staging, removes stale temporaries."""
    if os.path.isdir(os.path.join(path, COMMIT)):
        _apply_commit(path)
    shutil.rmtree(os.path.join(path, STAGING), ignore_errors=True)
    for root, folders, names in os.walk(path):
        for name in names:
            if name.startswith(TEMPORARY_PREFIX):
                os.remove(os.path.join(root, name))
        for name in [f for f in folders if f.startswith(TEMPORARY_PREFIX)]:  # e.g. a killed export
            shutil.rmtree(os.path.join(root, name))
            folders.remove(name)


def _apply_commit(path, fault=None):
    commit = os.path.join(path, COMMIT)
    names = sorted((os.path.relpath(os.path.join(root, n), commit) for root, _, files in os.walk(commit)
                    for n in files), key=lambda n: n == STATE)  # the state last, for readers without recovery
    for name in names:
        target = os.path.join(path, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(os.path.join(commit, name), target)
        if fault is not None:
            fault(name)
    shutil.rmtree(commit)


def _read_state(path, kind):
    state_path = os.path.join(path, STATE)
    try:
        data = read_json(state_path)
    except ValueError as error:
        raise RunFolderError(f"{error} The checkpoints beside it were left untouched.") from None
    if data is None:
        return None
    state = RunState.from_json(data, state_path)
    if state.kind != kind:
        raise RunFolderError(f"{path} holds a {state.kind} run, not a {kind} run; choose another folder.")
    if state.epoch and not os.path.exists(os.path.join(path, LAST)):
        raise RunFolderError(f"{state_path} records {state.epoch} epoch(s) but {os.path.join(path, LAST)} "
                             "is missing; restore it or train into another folder.")
    return state


def _check_reuse(path, state, identity, resume):
    if state is None:
        present = [n for n in RUN_FILES if os.path.exists(os.path.join(path, n))]
        if present:
            raise RunFolderError(
                f"{path} holds {', '.join(present)} but no run state ({STATE}); these files are never "
                "replaced. Move them away or choose another output folder."
            )
        return
    if not resume:
        raise RunExistsError(
            f"{path} already holds a run (epoch {state.epoch}). Pass resume=True (--resume) to "
            "continue it, or choose another output folder."
        )
    changed = [f"{key}={state.identity.get(key)!r}; you asked for {key}={value!r}"
               for key, value in identity.items() if state.identity.get(key) != value]
    if changed:
        raise RunFolderError(f"Cannot resume {path}: it was trained with {'; with '.join(changed)}. "
                             "Resume with the run's settings, or train into another folder.")


def _write_csv(path, history):
    keys = ["epoch", *sorted({k for row in history for k in row} - {"epoch"})]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            f.write(text.getvalue())

    atomic_write(path, write)
