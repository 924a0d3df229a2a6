"""TensorFlow's own distribution engine, chosen by name: one device, several local devices, several machines, TPUs.

The rest of the library asks three things of a strategy: its scope (where the model,
optimisers, latent RNG and trainer state are created), ``distribute_batches`` (each
replica's share of a global batch) and whether this process is the chief (the one that
writes logs and the run's checkpoints). Nothing here knows of GANs.

Each replica's share of batch k is rows ``[r * b, (r + 1) * b)`` of global batch k, which
is itself a pure function of (seed, k): a run at any replica count sees the same images
at the same update, and resumes exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import tensorflow as tf

from infogan_tf.errors import ConfigError

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


class StrategyError(ConfigError):
    """A strategy or device setting this machine cannot honour."""


def split_cpu(count: int) -> None:
    """Present the host CPU as ``count`` logical devices, so a mirrored strategy can be tried without GPUs.

    TensorFlow allows this only before its runtime starts (before the first op runs).
    """
    if count <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as e:
        raise StrategyError(
            f"{{devices.cpu_devices}}={count} must be set before TensorFlow starts; set it on the command line, "
            "not after running TensorFlow code in the same process"
        ) from e


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The strategy ``name`` means on this machine.

    ``auto``: several local GPUs are mirrored, otherwise TensorFlow's default (no
    replication, nothing changes). ``mirrored``: every local GPU, or, with none, every
    logical CPU device (see ``split_cpu``). ``multi_worker``: the cluster ``TF_CONFIG``
    describes. ``tpu``: the TPU the environment names.
    """
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy '{name}'; known: {', '.join(STRATEGIES)}")
    if name == "multi_worker":  # before anything starts TensorFlow's runtime, which it must configure
        return _multi_worker()
    if name == "tpu":
        return _tpu()
    gpus = len(tf.config.list_physical_devices("GPU"))
    if name == "auto":
        return tf.distribute.MirroredStrategy() if gpus > 1 else tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if gpus:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])


def _multi_worker() -> tf.distribute.Strategy:
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise StrategyError(
            "{devices.strategy}=multi_worker needs TF_CONFIG describing the cluster and this worker, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        if task["type"] not in config["cluster"] or not 0 <= int(task["index"]) < len(config["cluster"][task["type"]]):
            raise ValueError(f"task {task} is not in the cluster")
    except (ValueError, KeyError, TypeError) as e:
        raise StrategyError(
            f"TF_CONFIG is not a usable cluster description ({e}); see the example in docs/devices.md"
        ) from e
    if not workers:
        raise StrategyError("TF_CONFIG lists no workers")
    for kind, addresses in config["cluster"].items():
        for address in addresses if isinstance(addresses, list) else [addresses]:
            host, _, port = str(address).rpartition(":")
            if not host or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
                raise StrategyError(
                    f"TF_CONFIG's {kind} address {address!r} needs host:port with a port from 1 to 65535; "
                    "see the example in docs/devices.md"
                )
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except tf.errors.OpError as e:  # e.g. this worker's port is taken: "Could not start gRPC server"
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        own = config["cluster"][task["type"]][int(task["index"])]
        raise StrategyError(
            f"this worker could not start its server at {own} ({reason}); free that port or give this worker "
            "another in TF_CONFIG (and the same list to every worker)"
        ) from e


def _tpu() -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise StrategyError(
            f"{{devices.strategy}}=tpu found no TPU ({reason}); run on a TPU host or choose another"
        ) from e
    return tf.distribute.TPUStrategy(resolver)


def is_distributed(strategy: tf.distribute.Strategy) -> bool:
    """False for TensorFlow's default strategy (nothing replicated or placed), True for any other."""
    with strategy.scope():
        return tf.distribute.has_strategy()


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and _cluster_size(strategy) > 1


def _cluster_size(strategy: tf.distribute.Strategy) -> int:
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(tasks) for tasks in spec.values())


def _task(strategy: tf.distribute.Strategy) -> tuple[str, int] | None:
    """(task type, index) of this process in a cluster of several; None for one process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type or not is_multi_worker(strategy):
        return None
    return resolver.task_type, resolver.task_id


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: the chief, or worker 0 where the cluster names no chief."""
    task = _task(strategy)
    if task is None or task[0] == "chief":
        return True
    return task == ("worker", 0) and "chief" not in strategy.cluster_resolver.cluster_spec().jobs


def worker_name(strategy: tf.distribute.Strategy) -> str:
    """``<task type><index>`` of this process in its cluster (``chief`` alone for one process)."""
    task = _task(strategy)
    return "chief" if task is None else f"{task[0]}{task[1]}"


def replica_batch_size(strategy: tf.distribute.Strategy, global_batch_size: int) -> int:
    """Each replica's share of the global batch; the batch must split evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise StrategyError(
            f"{{train.batch_size}}={global_batch_size} does not split evenly over {replicas} replicas; "
            f"use a multiple of {replicas}"
        )
    return global_batch_size // replicas


def distribute_batches(
    strategy: tf.distribute.Strategy, global_batches: Callable[[], tf.data.Dataset], global_batch_size: int
) -> tf.distribute.DistributedDataset:
    """``global_batches()`` split over the replicas: replica r gets rows [r * b, (r + 1) * b) of every batch.

    Each input pipeline (one per worker) builds the global stream and keeps the rows of
    its own replicas, so the split is a pure function of (batch index, replica).
    """
    local = replica_batch_size(strategy, global_batch_size)

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        replicas = context.num_replicas_in_sync // context.num_input_pipelines
        first = context.input_pipeline_id * replicas * local

        def own_rows(batch: tf.Tensor) -> tf.Tensor:
            rows = batch[first : first + replicas * local]
            return tf.reshape(rows, [replicas, local, *batch.shape[1:]])

        return global_batches().map(own_rows).unbatch().prefetch(tf.data.AUTOTUNE)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset_fn, options)
