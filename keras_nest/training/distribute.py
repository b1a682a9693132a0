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

On JAX (Keras 3.15, `keras.distribution`, JAX-only in Keras):

* `fit` shards each batch over the distribution's devices only inside
  `distribution.scope()` (the trainer runs `fit` there), and only into equal
  parts: the batch size must divide by the device count, and evaluation
  batches are padded (`pad_batches`).
* Keras' own dataset sharding across processes cannot read the batch size
  of our pipelines, so each process takes its own rows of every global
  batch (`KerasDistribution.process_share`, `auto_shard_dataset=False`).
* `jit_compile="auto"` is `jax.jit`; eager JAX trains 1.6-2.9x slower here.

PyTorch has no Keras distribution in 3.15: one device; `auto` is eager,
which trains faster than `torch.compile` here (README, "Speed").
"""

import contextlib
import dataclasses
import json
import os

from keras_nest.errors import InvalidValueError

# The strategies of each backend: tf.distribute on TensorFlow, keras.distribution on JAX.
BACKEND_STRATEGIES = {
    "tensorflow": ("auto", "default", "mirrored", "multiworker", "tpu"),
    "jax": ("auto", "default", "data_parallel"),
    "torch": ("auto", "default"),
}
STRATEGIES = tuple(dict.fromkeys(name for names in BACKEND_STRATEGIES.values() for name in names))
JIT_CHOICES = ("auto", "on", "off")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Set by a multi-host launch (read by keras.distribution.initialize); see resolve_strategy.
MULTI_HOST_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES")


def resolve_strategy(name="auto", tpu=None):
    """The strategy `name` of the current Keras backend.

    TensorFlow: a `tf.distribute.Strategy`. `auto`: MultiWorkerMirrored
    when `TF_CONFIG` names several workers, Mirrored when there are several
    GPUs, else the default strategy. `tpu`: TPUClusterResolver(tpu) +
    TPUStrategy (written to the documented recipe, untested here: no TPU).

    JAX: a `KerasDistribution`. `data_parallel`: `keras.distribution.
    DataParallel` over every device of every process (one process unless
    `KERAS_DISTRIBUTION_JOB_ADDRESSES` / `_NUM_PROCESSES` / `_PROCESS_ID`
    describe several, then `keras.distribution.initialize()` joins them
    first); `auto` is `data_parallel` with several devices or processes.

    PyTorch: `default` only (Keras 3.15 has no torch distribution).

    Raises:
        InvalidValueError: a strategy the backend does not have (the message
            lists the ones it has).
    """
    import keras

    backend = keras.backend.backend()
    if name not in BACKEND_STRATEGIES[backend]:
        raise InvalidValueError(f"Strategy {name!r} does not exist on the {backend} backend; it has "
                                f"{', '.join(BACKEND_STRATEGIES[backend])}.")
    if backend == "tensorflow":
        return _tf_strategy(name, tpu)
    if backend == "jax":
        return _jax_distribution(name)
    return KerasDistribution(None)


@dataclasses.dataclass(frozen=True)
class KerasDistribution:
    """A `keras.distribution.Distribution` (or `None`: one device) with the strategy calls the trainer makes."""

    distribution: object

    @property
    def num_replicas_in_sync(self):
        return 1 if self.distribution is None else len(self.distribution.device_mesh.devices.flatten())

    def scope(self):
        return contextlib.nullcontext() if self.distribution is None else self.distribution.scope()

    def process_share(self, ds):
        """This process's rows of each global batch of `ds` (all of them with one process).

        Every process builds the same global batches (same seeds), so the
        processes together see exactly what one process would: one data
        order, one augmentation, whatever the number of hosts.
        """
        import jax
        import tensorflow as tf

        count, index = jax.process_count(), jax.process_index()
        if self.distribution is None or count == 1:
            return ds

        def rows(*parts):
            size = tf.shape(parts[0])[0] // count
            return tuple(part[index * size:(index + 1) * size] for part in parts)

        return ds.map(rows)


def _jax_distribution(name):
    import keras

    if any(os.environ.get(v) for v in MULTI_HOST_VARIABLES) and name != "default":
        _join_hosts()
    devices = keras.distribution.list_devices()
    if name == "default" or (name == "auto" and len(devices) == 1):
        return KerasDistribution(None)
    # Each process feeds its own rows (process_share), so Keras must not shard the data again.
    return KerasDistribution(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))


def _join_hosts():
    import jax
    import keras

    if not jax.distributed.is_initialized():  # JAX joins once per process; a second train() reuses it
        keras.distribution.initialize()


def _tf_strategy(name, tpu):
    import tensorflow as tf

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
    On JAX, each process keeps its rows of every global batch (`KerasDistribution.process_share`).
    """
    import tensorflow as tf

    if isinstance(strategy, KerasDistribution):
        return strategy.process_share(ds)
    if strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        options = tf.data.Options()
        policy = tf.data.experimental.AutoShardPolicy
        options.experimental_distribute.auto_shard_policy = policy.OFF if sharded else policy.DATA
        ds = ds.with_options(options)
    return ds


def check_batch_split(batch_size, strategy):
    """The strategy's replica count, after checking that a JAX data-parallel batch splits evenly over it.

    (tf.distribute splits uneven batches; JAX shards an array only into equal parts.)
    """
    replicas = strategy.num_replicas_in_sync
    if isinstance(strategy, KerasDistribution) and batch_size % replicas:
        raise InvalidValueError(f"batch_size {batch_size} does not split evenly over the {replicas} devices of "
                                f"--strategy data_parallel: use a multiple of {replicas} (--batch-size).")
    return replicas


def pad_batches(ds, strategy):
    """`(images, labels)` batches padded to a multiple of the device count, with sample weights 0 on the pads.

    For evaluation under JAX data parallelism, whose last batch may not split
    evenly: the pads count for nothing in the metrics (the accuracy is that
    of the real images). Other strategies get `ds` unchanged.
    """
    replicas = strategy.num_replicas_in_sync
    if not isinstance(strategy, KerasDistribution) or replicas == 1:
        return ds
    import tensorflow as tf

    def pad(images, labels):
        count = tf.shape(images)[0]
        extra = (-count) % replicas
        weights = tf.concat([tf.ones([count]), tf.zeros([extra])], axis=0)
        return (tf.pad(images, [[0, extra]] + [[0, 0]] * (images.shape.rank - 1)),
                tf.pad(labels, [[0, extra], [0, 0]]), weights)

    return ds.map(pad)


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
