"""The callbacks every training run uses: the NaN guard and the per-epoch commit."""

import math

import keras

from keras_nest.training.run_folder import BEST, LAST


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
                self.tripped_at = {"epoch": self._epoch + 1, "batch": batch + 1, "loss": str(float(loss)),
                                   "key": key}
                self.model.stop_training = True
                return

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class EpochCommit(keras.callbacks.Callback):
    """After every good epoch, commits it to a `RunFolder` as one unit.

    The commit holds `last.keras` (model and optimizer state), `best.keras`
    when `monitor` improved (higher is better), the history row, and the
    files of `extra_files(epoch) -> {name: write(path)}` (e.g. a GAN's
    generator and sample grid). An epoch in which `nan_guard` tripped is not
    committed, so the folder keeps the last good epoch.
    """

    def __init__(self, run, nan_guard, monitor=None, extra_files=None):
        super().__init__()
        self.run, self.nan_guard, self.monitor, self.extra_files = run, nan_guard, monitor, extra_files

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard.tripped_at is not None:
            return
        row = {k: float(v) for k, v in (logs or {}).items()}
        files = {LAST: self.model.save}
        best = None
        value = row.get(self.monitor)
        if value is not None and (self.run.state.best is None or value > self.run.state.best):
            best = value
            files[BEST] = self.model.save
        if self.extra_files is not None:
            files.update(self.extra_files(epoch))
        self.run.commit_epoch(row, files, best=best)
