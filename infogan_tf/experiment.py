"""An ``ExperimentConfig`` to finished, evaluated runs: dataset, model, optimisers, step, loop, callbacks, checkpoint.

``build_trainer`` is the one place that puts a model, its optimisers, its step and the
loop together; ``make_run`` adds a run's directories and the callbacks that write them;
``Experiment`` (training, with an optional ``RunChooser``) and ``evaluate_experiment``
carry out a whole command. Each run is built whole from its config, then run. Failures
a user can fix raise the library's typed errors (``SetupError`` here, ``DataError``,
``CheckpointError``, ...); the command layer turns them into one line and an exit code.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import keras
import tensorflow as tf

from infogan_tf import strategies
from infogan_tf.averaging import GeneratorAverage
from infogan_tf.callbacks import Checkpointer, ImageGrids, LazySummaryWriter, MetricsLog, ProgressBar
from infogan_tf.checkpoints import (
    UPDATE_SETTINGS,
    CheckpointError,
    RunCheckpoint,
    check_trained_on,
    checkpoint_paths,
    load,
    read_model_config,
    trained_seed,
)
from infogan_tf.config import ExperimentConfig, RunConfig, TrainConfig
from infogan_tf.data import ImageDataset, make_dataset
from infogan_tf.errors import ConfigError
from infogan_tf.evaluation import classifier, report, summary
from infogan_tf.invariance.warmup import LambdaWarmup
from infogan_tf.models import ModelConfig
from infogan_tf.optimizers import for_precision, original_adam, scaled_learning_rate
from infogan_tf.speed import reused_batch
from infogan_tf.step import Optimizers
from infogan_tf.terms import TERMS, ExtraTerm, build_terms
from infogan_tf.trainer import Callback, InfoGANTrainer

GPU_CHECK_INTERVAL = 100
"""Updates between the host's reads of the non-finite flag on a GPU, which then never waits for the host."""


class SetupError(ConfigError):
    """A setting that passed the config's own checks but cannot be used with this data or on this machine."""


def build_trainer(
    model: ModelConfig,
    train: TrainConfig,
    batches: Callable[[int], Iterable[tf.Tensor]] | None = None,
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    terms: Sequence[ExtraTerm] = (),
) -> InfoGANTrainer:
    """The model ``model`` describes (with the heads ``terms`` add), the original's two Adams, the step and the loop.

    Weights come from Keras's seed, latent samples from their own ``tf.random.Generator``
    (checkpointed), the data stream from ``batches(start)`` (global batches; per-replica
    values under a strategy). Everything with state is created in ``strategy``'s scope
    (default: TensorFlow's current one). ``train.check_interval`` unset checks every update.
    """
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(seed)
    rates = (
        scaled_learning_rate(rate, train.batch_size, train.lr_batch_scaling)
        for rate in (train.discriminator_learning_rate, train.generator_learning_rate)
    )
    heads = {name: outputs for term in terms for name, outputs in term.discriminator_heads().items()}
    with strategy.scope():
        built = dataclasses.replace(model, heads={**model.heads, **heads}).build()
        optimizers = Optimizers(*(for_precision(original_adam(rate), model.precision) for rate in rates))
        average = GeneratorAverage(built, train.generator_average, train.generator_average_from)
        rng = tf.random.Generator.from_seed(seed)
        step_class = reused_batch.step_class(train)
        warmup = LambdaWarmup(train.info_reg_warmup)
        train_step = step_class(built, optimizers, rng, train, strategy, terms, followers=(average,), schedule=warmup)
        return InfoGANTrainer(
            train_step,
            batches,
            train.max_epoch,
            train.updates_per_epoch,
            jit_compile=train.jit_compile,
            check_interval=train.check_interval or 1,
        )


@dataclasses.dataclass(frozen=True)
class Run:
    """A trainer bound to a run's directories: its checkpoints, logs and the callbacks that write them."""

    name: str
    trainer: InfoGANTrainer
    checkpoint: RunCheckpoint
    log_dir: Path
    callbacks: tuple[Callback, ...]
    """The run's own, in order: with several workers only the chief's write logs; the checkpointer comes last."""
    chief: bool = True

    @property
    def checkpoint_dir(self) -> Path:
        return self.checkpoint.directory

    def start(self, resume: str = "auto") -> int:
        """Restore as ``resume`` says (see ``RunCheckpoint.resume``); returns the update the run starts from."""
        path = self.checkpoint.resume(resume)
        step = int(self.trainer.step.numpy())
        if path:
            self.trainer.restored()
            print(f"Resumed from {path} at update {step}")
        return step

    def train(self, extra_callbacks: Sequence[Callback] = ()) -> dict[str, float]:
        """Train with ``extra_callbacks``, then the run's own; call ``start`` first. Releases the run's lock."""
        try:
            return self.trainer.train([*extra_callbacks, *self.callbacks])
        finally:
            self.checkpoint.close()


def make_run(
    trainer: InfoGANTrainer,
    dataset: ImageDataset,
    name: str,
    directories: tuple[str | Path, str | Path],
    seed: int = 0,
    run: RunConfig | None = None,
) -> Run:
    """``trainer`` bound to ``directories`` (logs, checkpoints); ``run``: the snapshot interval, how many are kept."""
    run = run or RunConfig()
    log_dir, checkpoint_dir = (Path(d) for d in directories)
    run_settings = {
        "batch_size": trainer.train_step.batch_size,
        "updates_per_epoch": trainer.updates_per_epoch,
        "seed": seed,
        "dataset": dataset.name,
        UPDATE_SETTINGS: {**dict.fromkeys(TERMS), reused_batch.SETTING: False, **trainer.train_step.settings},
    }
    chief = strategies.is_chief(trainer.strategy)
    checkpoint = RunCheckpoint(
        checkpoint_dir,
        name,
        trainer.trackables,
        trainer.model.config,
        run_settings,
        weights=[w for m in trainer.model.keras_models.values() for w in m.weights],
        max_to_keep=run.max_to_keep,
        strategy=trainer.strategy,
    )
    callbacks: list[Callback] = []
    if chief:
        writer = LazySummaryWriter(log_dir)
        callbacks += [
            ImageGrids(log_dir, writer, dataset.to_unit_range, seed=seed),
            MetricsLog(log_dir, writer),
            ProgressBar(trainer.updates_per_epoch),
        ]
    callbacks.append(Checkpointer(checkpoint, run.snapshot_interval))
    return Run(name, trainer, checkpoint, log_dir, tuple(callbacks), chief)


def ensure_writable_dir(path: str | Path, what: str) -> None:
    """Refuse, in one line naming ``what``, a directory that could not be written; create nothing.

    A directory that does not exist yet is judged by the nearest one above it that does:
    the run makes it when it first writes, so a setup refused later leaves no empty folders.
    """
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise SetupError(f"{what}={path} is not a writable directory ({e.strerror or e}); choose another") from e


def check_run_setup(
    dataset: ImageDataset, runs: list[tuple[int, str]], config: ExperimentConfig
) -> classifier.SampleClassifier | None:
    """What can be known wrong before anything is trained or written: sizes, directories, the classifier's cache.

    Returns the cached sample classifier when evaluation will need one and it exists.
    """
    out, batch_size = config.run, config.train.batch_size
    ensure_writable_dir(out.root_log_dir, "{run.root_log_dir}")
    ensure_writable_dir(out.root_checkpoint_dir, "{run.root_checkpoint_dir}")
    if batch_size > dataset.train.num_examples:
        raise SetupError(
            f"{{train.batch_size}}={batch_size} exceeds the {dataset.train.num_examples} training images of "
            f"{dataset.name}"
        )
    for _, name in runs:
        ensure_writable_dir(Path(out.root_log_dir) / name, "the run's log directory")
        ensure_writable_dir(Path(out.root_checkpoint_dir) / name, "the run's checkpoint directory")
    if config.evaluation.evaluate and dataset.labelled:
        return classifier.load_cached(dataset, config.evaluation.classifier_path)
    return None


def run_names(config: ExperimentConfig) -> tuple[str, list[tuple[int, str]]]:
    """The base name and (seed, exp_name) of each run the config asks for: one, or one per seed of ``seeds``."""
    out = config.run
    dataset = config.dataset.replace(":", "_")  # tfds:NAME
    base = out.exp_name or f"{dataset}_{datetime.datetime.now():%Y_%m_%d_%H_%M_%S}"
    if not out.seeds:
        return base, [(out.seed, base)]
    return base, [(seed, f"{base}_seed{seed}") for seed in out.seeds]


def model_config(dataset: ImageDataset, config: ExperimentConfig) -> ModelConfig:
    settings = dataclasses.asdict(config.model)
    return ModelConfig.for_dataset(dataset, **settings)


def make_strategy(config: ExperimentConfig) -> tf.distribute.Strategy:
    """The strategy the config names; call before any other TensorFlow work (it may split the CPU)."""
    try:
        strategies.split_cpu(config.devices.cpu_devices)
        return strategies.make_strategy(config.devices.strategy)
    except strategies.StrategyError as e:
        raise SetupError(e.template) from e


def batch_stream(
    dataset: ImageDataset, seed: int, strategy: tf.distribute.Strategy, train: TrainConfig
) -> Callable[[int], Iterable]:
    """``batches(start)`` for the trainer: tf.data, split over replicas, or gathered on the device, as ``train`` says.

    Refuses (``SetupError``) what the strategy cannot run: a batch that does not split
    over the replicas, device batches for several replicas, XLA over several replicas.
    """
    batch_size = train.batch_size
    try:
        strategies.replica_batch_size(strategy, batch_size)
    except strategies.StrategyError as e:
        raise SetupError(e.template) from e
    distributed = strategies.is_distributed(strategy)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    pipeline = train.input_pipeline
    on_device = pipeline == "device" or (pipeline == "auto" and gpu and not distributed)
    if on_device and distributed:
        raise SetupError(
            "{train.input_pipeline}=device feeds one device; with a {devices.strategy} of several, use tf_data"
        )
    if train.jit_compile and strategy.num_replicas_in_sync > 1:
        raise SetupError(
            "{train.jit_compile} compiles one device's update; XLA cannot reach the other replicas' variables from "
            "it: drop {train.jit_compile}, or use {devices.strategy}=one_device"
        )

    def batches(start: int) -> Iterable:
        if on_device:
            return dataset.train.device_batches(batch_size, seed=seed, start=start)
        stream = lambda: dataset.train.batches(batch_size, seed=seed, start=start)  # noqa: E731
        return strategies.distribute_batches(strategy, stream, batch_size) if distributed else stream()

    return batches


def build(
    seed: int,
    exp_name: str,
    dataset: ImageDataset,
    config: ExperimentConfig,
    strategy: tf.distribute.Strategy | None = None,
) -> Run:
    """The run (trainer, model, checkpoints, callbacks) that ``config`` describes, for one seed, under ``strategy``."""
    strategy = strategy or tf.distribute.get_strategy()
    train = config.train
    if train.deterministic:
        tf.config.experimental.enable_op_determinism()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    train = dataclasses.replace(train, check_interval=train.check_interval or (GPU_CHECK_INTERVAL if gpu else 1))
    batches = batch_stream(dataset, seed, strategy, train)
    try:  # a latent spec or network type that does not fit the dataset fails here, in one line
        terms = build_terms({"invariance": config.invariance, **config.terms})
        trainer = build_trainer(model_config(dataset, config), train, batches, seed, strategy, terms)
    except ValueError as e:
        detail = e.template if isinstance(e, ConfigError) else e
        raise SetupError(f"the model cannot be built for {dataset.name}'s images: {detail}") from e
    out = config.run
    directories = (Path(out.root_log_dir) / exp_name, Path(out.root_checkpoint_dir) / exp_name)
    return make_run(trainer, dataset, exp_name, directories, seed, out)


def load_classifier(dataset: ImageDataset, config: ExperimentConfig):
    """The dataset's sample classifier (cached), or None where the dataset has no labels."""
    return classifier.load_or_train(dataset, config.evaluation.classifier_path) if dataset.labelled else None


def evaluate_run(
    exp_name: str,
    seed: int,
    dataset: ImageDataset,
    sample_classifier,
    config: ExperimentConfig,
    checkpoint: str | None = None,
) -> dict:
    """Evaluate a run into its log directory, or ``checkpoint`` into ``evaluation/<checkpoint name>/`` beside it.

    Each checkpoint keeps its own evaluation, so evaluating a run at several updates (how
    early a failing seed shows) loses none of them; the trained G's evaluation
    (``generator_weights="trained"``) goes into a ``trained_generator/`` folder there,
    beside the average's.
    """
    out, evaluation = config.run, config.evaluation
    log_dir = Path(out.root_log_dir) / exp_name
    baseline = evaluation.baseline
    source = load(checkpoint or Path(out.root_checkpoint_dir) / exp_name, generator=evaluation.generator_weights)
    out_dir = log_dir
    if checkpoint:
        out_dir = checkpoint_paths(checkpoint)[0] / "evaluation" / Path(source.checkpoint_path).name
    if evaluation.generator_weights == "trained":
        out_dir = out_dir / "trained_generator"
    results = report.evaluate(
        source,
        dataset,
        sample_classifier,
        out_dir=out_dir,
        log_dir=log_dir,
        baseline=report.RunFiles(Path(out.root_checkpoint_dir) / baseline, Path(out.root_log_dir) / baseline)
        if baseline
        else None,
        num_samples=evaluation.eval_samples,
        seed=seed,
    )
    print(report.results_markdown(results) if not checkpoint else json.dumps(results, indent=2))
    return results


def summarize(base: str, results: dict[int, dict], config: ExperimentConfig) -> None:
    """Write and print the summary over seeds, when there are several."""
    if len(results) > 1:
        out = Path(config.run.root_log_dir) / f"{base}_summary"
        summary.write_summary(out, results)
        print((out / "summary.md").read_text())


RunRecord = Callable[[int, str, int], str]
"""What a run writes into ``flags.txt`` given its seed, name and last epoch: the command that makes it."""


def start_run(
    seed: int,
    exp_name: str,
    dataset: ImageDataset,
    config: ExperimentConfig,
    strategy: tf.distribute.Strategy,
    record: RunRecord | None = None,
) -> Run:
    """The run built and restored (``config.run.resume``), its command recorded, where it is said; ready to train."""
    run = build(seed, exp_name, dataset, config, strategy=strategy)
    run.start(config.run.resume)
    if run.chief and record:
        run.log_dir.mkdir(parents=True, exist_ok=True)
        (run.log_dir / "flags.txt").write_text(record(seed, exp_name, config.train.max_epoch))
    replicas = strategy.num_replicas_in_sync
    where = f" ({replicas} replicas, {strategies.worker_name(strategy)})" if replicas > 1 else ""
    print(f"Logs: {run.log_dir}  Checkpoints: {run.checkpoint_dir}{where}")
    streams = "; its training images stream from disk" if getattr(dataset, "streamed", False) else ""
    shape, network = "x".join(map(str, dataset.image_shape)), run.trainer.model.config.network_type
    print(f"Data: {dataset.name}, {dataset.train.num_examples} {shape} images{streams}; network: {network}")
    d_rate, g_rate = run.trainer.train_step.learning_rates
    reuse = "; the G step reuses the D step's batch" if config.train.reuse_fake_batch else ""
    print(f"Learning rates: D {d_rate:.4g}, G {g_rate:.4g}{reuse}")
    return run


class RunChooser(Protocol):
    """Picks, for each seed, the run that trains on (e.g. restarts: several candidates, one chosen)."""

    def check(self, dataset: ImageDataset) -> None:
        """Refuse (``SetupError``) what cannot be chosen on this dataset, before anything is trained."""

    def runs(self, base: str, runs: list[tuple[int, str]], strategy: tf.distribute.Strategy) -> list[tuple[int, str]]:
        """(seed, name) of every run it may train, for the setup's checks."""

    def choose(self, experiment: Experiment, seed: int, exp_name: str) -> tuple[int, str]:
        """Train what it needs through ``experiment.train_run``; the (seed, name) of the run that trains on."""


class Experiment:
    """One training command: its runs, trained (after a ``chooser``'s candidates, where given) and evaluated.

    ``run`` is the run in progress (or the last one), for the command layer's messages
    about its checkpoints when something stops it.
    """

    def __init__(
        self,
        config: ExperimentConfig,
        strategy: tf.distribute.Strategy,
        record: RunRecord | None = None,
        chooser: RunChooser | None = None,
    ):
        self.config, self.strategy, self.record, self.chooser = config, strategy, record, chooser
        self.dataset = make_dataset(config.dataset, config.data_dir, config.images)
        self.base, self.runs = run_names(config)
        self.run: Run | None = None

    def train_run(self, seed: int, exp_name: str, config: ExperimentConfig) -> Run:
        """One run built under ``config``, restored, trained; returned for its logs and checkpoints."""
        self.run = start_run(seed, exp_name, self.dataset, config, self.strategy, self.record)
        self.run.train()
        return self.run

    def train(self) -> dict[int, dict]:
        """Train (and evaluate) every run; returns each seed's results."""
        config, dataset, chooser = self.config, self.dataset, self.chooser
        if chooser:
            chooser.check(dataset)
        every = chooser.runs(self.base, self.runs, self.strategy) if chooser else self.runs
        sample_classifier = check_run_setup(dataset, every, config)
        results = {}
        for seed, exp_name in self.runs:
            run_config = config
            if chooser:
                seed, exp_name = chooser.choose(self, seed, exp_name)
                run_config = dataclasses.replace(config, run=dataclasses.replace(config.run, resume="latest"))
            run = self.train_run(seed, exp_name, run_config)
            if config.evaluation.evaluate and run.chief:
                sample_classifier = sample_classifier or load_classifier(dataset, config)
                results[seed] = evaluate_run(exp_name, seed, dataset, sample_classifier, config)
        summarize(self.base, results, config)
        return results


def evaluate_experiment(config: ExperimentConfig, checkpoint: str | None = None, seed_given: bool = False) -> None:
    """Evaluate the config's runs (a summary over several seeds), or one ``checkpoint``.

    The samples' seed is the run's own, which its end-of-training evaluation used, so
    evaluating a finished run again repeats its numbers; ``seed_given`` uses the config's.
    """
    dataset = make_dataset(config.dataset, config.data_dir, config.images)
    base, runs = run_names(config)
    out = config.run
    locations = [checkpoint] if checkpoint else [Path(out.root_checkpoint_dir) / n for _, n in runs]
    directories = []
    for location in locations:  # before the classifier, which may take minutes to train
        directory, paths = checkpoint_paths(location)
        read_model_config(directory)
        check_trained_on(directory, dataset.name)
        if not paths:
            raise CheckpointError(f"{location} holds no checkpoint to evaluate")
        directories.append(directory)
    sample_classifier = load_classifier(dataset, config)

    def sample_seed(directory: Path, seed: int) -> int:
        trained = None if seed_given else trained_seed(directory)
        return seed if trained is None else trained

    if checkpoint:  # its training log is found under the name of its directory, the run's name
        name = out.exp_name or directories[0].name
        evaluate_run(name, sample_seed(directories[0], out.seed), dataset, sample_classifier, config, checkpoint)
        return
    results = {
        seed: evaluate_run(name, sample_seed(directory, seed), dataset, sample_classifier, config)
        for (seed, name), directory in zip(runs, directories)
    }
    summarize(base, results, config)
