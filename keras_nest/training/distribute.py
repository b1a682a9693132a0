"""Strategy, XLA and precision settings, resolved in one place.

Keras facts this relies on (Keras 3.15, TensorFlow backend):

* The model must be built and compiled inside `strategy.scope()`; `fit`
  then splits each global batch over the replicas.
* Keras' own `jit_compile="auto"` turns XLA off on CPU-only machines and
  under any `tf.distribute` strategy. Our `auto` differs in one case: with
  the default (single-device) strategy it turns XLA on, CPU included, when
  a training step is large enough for XLA's faster steps to repay its
  compile time (`XLA_MIN_MACS_PER_STEP`); under other strategies it defers
  to Keras. An explicit `jit_compile=True` under
  MirroredStrategy fails (keras-team/keras#19005: XLA cannot reach the
  other replicas' variables), so `--jit-compile on` is refused there with
  a message; TPUStrategy compiles with XLA regardless of the flag.
* Keras loss objects scale by 1/replicas themselves, so the recipe's losses
  are correct under every strategy.
"""

import json
import os

from keras_nest.errors import InvalidValueError

STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")
JIT_CHOICES = ("auto", "on", "off")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def resolve_strategy(name="auto", tpu=None):
    """A `tf.distribute.Strategy` for a name.

    `auto`: MultiWorkerMirrored when `TF_CONFIG` names several workers,
    Mirrored when there are several GPUs, else the default strategy.
    `tpu`: TPUClusterResolver(tpu) + TPUStrategy. This path is written to
    the documented TensorFlow recipe but untested here (no TPU).
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise InvalidValueError(f"Unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}.")
    if name == "auto":
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
        if len(cluster.get("worker", [])) > 1:
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise InvalidValueError(
                "--strategy multiworker needs TF_CONFIG describing the cluster "
                '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}).'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


# XLA's compile time (seconds) pays off only when a training step is big enough. Measured on
# 2 cores (README, "Distribution"): the digits demo (nest_nano_16, batch 64, 3.1 GMAC a step)
# trains 15 epochs in 103 s without XLA and 109 s with it; nest_micro_64 at batch 64 (7.1 GMAC)
# steps at 106 vs 113 images/s; nest_tiny_cifar at batch 64 (133 GMAC) at 5.4 vs 7.7.
XLA_MIN_MACS_PER_STEP = 5e9


def resolve_jit_compile(flag, strategy, macs_per_step=None):
    """The value for `model.compile(jit_compile=...)`.

    `auto` on a single device with TensorFlow: XLA when a training step
    costs at least `XLA_MIN_MACS_PER_STEP` multiply-accumulates
    (`count_macs(model) * batch size`; unknown counts as large), else not.
    Elsewhere `auto` defers to Keras.
    """
    if flag not in JIT_CHOICES:
        raise InvalidValueError(f"jit_compile must be one of {JIT_CHOICES}, got {flag!r}.")
    import keras

    if flag == "auto":
        import tensorflow as tf

        single_device = strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy()
        if not single_device or keras.backend.backend() != "tensorflow":
            return "auto"
        return macs_per_step is None or macs_per_step >= XLA_MIN_MACS_PER_STEP
    if flag == "off":
        return False
    import tensorflow as tf

    mirrored = (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy)
    if isinstance(strategy, mirrored):
        raise InvalidValueError(
            f"--jit-compile on does not work under {type(strategy).__name__} with Keras 3 "
            "(keras-team/keras#19005); use --jit-compile auto or off."
        )
    return True


def set_precision(precision):
    """Sets the global dtype policy; the models keep their heads in float32."""
    if precision not in PRECISIONS:
        raise InvalidValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    import keras

    keras.config.set_dtype_policy(precision)
    return precision


def distribute_dataset(ds, strategy, sharded=False):
    """Sets the sharding a strategy needs on a `tf.data.Dataset`.

    `sharded`: the pipeline already reads only this worker's files
    (`worker_shard`), so tf.distribute must not shard it again; otherwise
    (in-memory data, which has no files to shard by) it shards by element.
    """
    import tensorflow as tf

    if strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        options = tf.data.Options()
        policy = tf.data.experimental.AutoShardPolicy
        options.experimental_distribute.auto_shard_policy = policy.OFF if sharded else policy.DATA
        ds = ds.with_options(options)
    return ds


def worker_shard(strategy):
    """`(workers, this worker's index)`: how a file-based source splits its files across workers."""
    import tensorflow as tf
    from tensorflow.python.distribute import multi_worker_util

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1, 0
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec()
    if not cluster.as_dict():  # a single-machine MultiWorkerMirroredStrategy
        return 1, 0
    # A chief counts as a worker too (TF's own numbering: chief 0, then the workers).
    return (multi_worker_util.worker_count(cluster, resolver.task_type),
            multi_worker_util.id_in_cluster(cluster, resolver.task_type, resolver.task_id))


def prebuild_for_multiworker(net, strategy, num_classes):
    """Works around Keras 3.15 under MultiWorkerMirroredStrategy.

    `fit` builds the compiled metrics by `strategy.reduce`-ing a tuple of
    per-replica batches, which the collective strategy rejects ("unsupported
    type PerReplica"). The same state is built here from symbolic inputs,
    and Keras' step, now redundant, is skipped for this model. Its "mean"
    reduction of the logged scalars across workers also fails (it reduces
    over axis 0, which a scalar lacks), so the steps log 1-vectors instead.
    """
    import keras
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    images = keras.KerasTensor((None, *net.input_shape[1:]))
    labels = keras.KerasTensor((None, num_classes))
    with strategy.scope():
        net._symbolic_build(data_batch=(images, labels))
    net._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    def as_vectors(step):
        return lambda data: {k: keras.ops.reshape(v, (1,)) for k, v in step(data).items()}

    net.train_step, net.test_step = as_vectors(net.train_step), as_vectors(net.test_step)
