"""Run directory state: atomic checkpoints, history, and the NaN guard.

Every file is written to a temporary name in the same folder and moved into
place with `os.replace`, so a crash or Ctrl-C mid-write leaves the previous
checkpoint intact and never a half-written one.
"""

import json
import math
import os
import tempfile

import keras

from keras_nest.io_utils import atomic_write, read_json, write_json  # noqa: F401 (run-folder API)

LAST = "last.keras"
BEST = "best.keras"
STATE = "state.json"
HISTORY = "history.json"


def is_chief():
    """Only the chief of a multi-worker cluster writes the run directory."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task")
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where.

    Args:
        keys: the logged losses to watch (a GAN logs `d_loss` and `g_loss`).
    """

    def __init__(self, keys=("loss",)):
        super().__init__()
        self.keys = tuple(keys)
        self.tripped_at = None
        self._epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        for key in self.keys:
            loss = (logs or {}).get(key)
            if loss is not None and not math.isfinite(float(loss)):
                self.tripped_at = {"epoch": self._epoch + 1, "batch": batch + 1, key: str(float(loss))}
                self.model.stop_training = True
                return

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class RunCheckpoint(keras.callbacks.Callback):
    """After every epoch: `last.keras` (model + optimizer state), `state.json`,
    `history.json`, and `best.keras` when `monitor` improves.

    Nothing is written for an epoch in which `nan_guard` tripped, so the
    last good checkpoint survives a diverged run.
    """

    def __init__(self, directory, nan_guard=None, monitor="val_accuracy", history=None, best=None):
        super().__init__()
        self.directory = directory
        self.nan_guard = nan_guard
        self.monitor = monitor
        self.history = list(history or [])
        self.best = best
        self.chief = is_chief()
        if not self.chief:  # other workers must still save (collectives), but elsewhere
            self.directory = tempfile.mkdtemp(prefix="keras_nest_worker_")

    def path(self, name):
        return os.path.join(self.directory, name)

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard is not None and self.nan_guard.tripped_at is not None:
            return
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self.history.append({"epoch": epoch + 1, **logs})
        value = logs.get(self.monitor)
        improved = value is not None and (self.best is None or value > self.best)
        if improved:
            self.best = value
            atomic_write(self.path(BEST), self.model.save)
        atomic_write(self.path(LAST), self.model.save)
        write_json(self.path(HISTORY), self.history)
        write_json(self.path(STATE), {"epoch": epoch + 1, "best": self.best, "monitor": self.monitor})
