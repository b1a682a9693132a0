"""Trains the kill-test config and SIGKILLs itself at one point of one epoch's commit.

Usage: python kill_during_training.py OUT POINT EPOCH
POINT is a RunFolder commit point ("staged", "committed", "moved:NAME") or
"batch" (mid-epoch, after the first batch of EPOCH).
"""

import os
import signal
import sys

import keras

from keras_nest.training import RunFolder, train

KILL_CONFIG = dict(model="nest_nano_16", dataset="digits", epochs=2, train_fraction=0.25, batch_size=32,
                   jit_compile="off", tensorboard=False, export=False, verbose=0,
                   recipe_overrides={"drop_path_rate": 0.0})


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


class _KillMidEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            _kill()


def main(out, point, epoch):
    epoch = int(epoch)
    callbacks = []
    if point == "batch":
        callbacks.append(_KillMidEpoch(epoch))
    else:
        RunFolder.fault_hook = lambda at, at_epoch: _kill() if (at, at_epoch) == (point, epoch) else None
    train(out=out, callbacks=callbacks, **KILL_CONFIG)
    sys.exit(5)  # not killed: the point was never reached


if __name__ == "__main__":
    main(*sys.argv[1:])
