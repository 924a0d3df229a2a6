"""Flags to finished, evaluated runs: dataset, model (through the factory), optimisers, step, trainer, evaluation.

Shared by every launcher. ``build_trainer`` is the one place that puts a model, its
optimisers, its step and the loop together; ``make_run`` adds a run's directories
(checkpoints, callbacks). Failures a user can fix (bad data, an incompatible checkpoint,
a non-finite loss, an unwritable directory) end the process with one ``error:`` line and
exit code 1; SIGINT and SIGTERM end it after a checkpoint, with exit code 128 + the
signal number.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from absl import app, flags
from absl import logging as absl_logging

from infogan_tf import export, process, restarts, sampling, strategies
from infogan_tf import flags as _flags
from infogan_tf.callbacks import Checkpointer, ImageGrids, MetricsLog, ProgressBar
from infogan_tf.checkpoints import (
    UPDATE_SETTINGS,
    CheckpointError,
    LoadedModel,
    RunCheckpoint,
    checkpoint_paths,
    is_resume_source,
    load,
    read_model_config,
    trained_seed,
)
from infogan_tf.datasets import DATASETS, DataError, ImageDataset
from infogan_tf.distributions import Categorical
from infogan_tf.evaluation import classifier, report, summary
from infogan_tf.evaluation.classifier import ClassifierError
from infogan_tf.latent_spec import parse_latent_spec
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.models import ModelConfig
from infogan_tf.optimizers import for_precision, original_adam, scaled_learning_rate
from infogan_tf.presets import PRESETS
from infogan_tf.step import InfoGANStep, Invariance
from infogan_tf.trainer import Callback, InfoGANTrainer, TrainingInterrupted

FLAGS = _flags.FLAGS


GPU_CHECK_INTERVAL = 100
"""Updates between the host's reads of the non-finite flag on a GPU, which then never waits for the host."""


class SetupError(RuntimeError):
    """A setting that passed flag parsing but cannot be used on this machine."""


def build_trainer(
    config: ModelConfig,
    batches: Callable[[int], Iterable[tf.Tensor]],
    batch_size: int,
    seed: int = 0,
    discriminator_learning_rate: float = 2e-4,
    generator_learning_rate: float = 1e-3,
    info_reg_coeff: float = 1.0,
    train_q: bool = False,
    reuse_fake_batch: bool = False,
    continuous_info_reg_coeff: float | None = None,
    max_epoch: int = 50,
    updates_per_epoch: int = 100,
    jit_compile: bool = False,
    strategy: tf.distribute.Strategy | None = None,
    check_interval: int = 1,
    invariance: Invariance | None = None,
    info_reg_warmup: int = 0,
    generator_average: float = 0.0,
    generator_average_from: int = 0,
) -> InfoGANTrainer:
    """The model ``config`` describes, the original's two Adams, the step and the loop, seeded by ``seed``.

    Defaults are the original MNIST launcher's. Weights come from Keras's seed, latent
    samples from their own ``tf.random.Generator`` (checkpointed), the data stream from
    ``batches(start)`` (global batches; per-replica values under a strategy). Everything
    with state is created in ``strategy``'s scope (default: TensorFlow's current one).
    """
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = config.build()
        train_step = InfoGANStep(
            model,
            batch_size,
            discriminator_optimizer=for_precision(original_adam(discriminator_learning_rate), config.precision),
            generator_optimizer=for_precision(original_adam(generator_learning_rate), config.precision),
            rng=tf.random.Generator.from_seed(seed),
            info_reg_coeff=info_reg_coeff,
            train_q=train_q,
            reuse_fake_batch=reuse_fake_batch,
            continuous_info_reg_coeff=continuous_info_reg_coeff,
            strategy=strategy,
            invariance=invariance,
            info_reg_warmup=info_reg_warmup,
            generator_average=generator_average,
            generator_average_from=generator_average_from,
        )
        return InfoGANTrainer(
            train_step, batches, max_epoch, updates_per_epoch, jit_compile=jit_compile, check_interval=check_interval
        )


@dataclasses.dataclass
class Run:
    """A trainer bound to a run's directories: its checkpoints, logs and the callbacks that write them."""

    name: str
    trainer: InfoGANTrainer
    checkpoint: RunCheckpoint
    log_dir: Path
    to_unit_range: Callable
    seed: int
    snapshot_interval: int
    chief: bool = True
    """With several workers, only the chief writes logs, grids and metrics (every worker saves checkpoints)."""

    @property
    def checkpoint_dir(self) -> Path:
        return self.checkpoint.directory

    def start(self, resume: str = "auto") -> int:
        """Restore as ``resume`` says (see ``RunCheckpoint.resume``); returns the update the run starts from."""
        path = self.checkpoint.resume(resume)
        step = int(self.trainer.step.numpy())
        if path:
            self.trainer.train_step.reset_learning_rates()
            print(f"Resumed from {path} at update {step}")
        return step

    def train(self, extra_callbacks: Sequence[Callback] = ()) -> dict[str, float]:
        """Train with the run's callbacks, after ``extra_callbacks``; call ``start`` first. Releases the run's lock."""
        callbacks = list(extra_callbacks)
        if self.chief:
            writer = tf.summary.create_file_writer(str(self.log_dir))
            callbacks += [
                ImageGrids(self.log_dir, writer, self.to_unit_range, seed=self.seed),
                MetricsLog(self.log_dir, writer),
                ProgressBar(self.trainer.updates_per_epoch),
            ]
        self.trainer.callbacks = [*callbacks, Checkpointer(self.checkpoint, self.snapshot_interval)]
        try:
            return self.trainer.train()
        finally:
            self.checkpoint.close()


def make_run(
    trainer: InfoGANTrainer,
    dataset: ImageDataset,
    name: str,
    log_dir: str | Path,
    checkpoint_dir: str | Path,
    batch_size: int,
    seed: int = 0,
    snapshot_interval: int = 1000,
    max_to_keep: int = 5,
) -> Run:
    model = trainer.model
    run_settings = {
        "batch_size": batch_size,
        "updates_per_epoch": trainer.updates_per_epoch,
        "seed": seed,
        UPDATE_SETTINGS: trainer.train_step.settings,
    }
    chief = strategies.is_chief(trainer.strategy)
    checkpoint = RunCheckpoint(
        checkpoint_dir,
        name,
        trainer.trackables,
        model.config,
        run_settings,
        weights=[w for m in model.keras_models.values() for w in m.weights],
        max_to_keep=max_to_keep,
        chief=chief,
        worker=strategies.worker_name(trainer.strategy),
    )
    return Run(name, trainer, checkpoint, Path(log_dir), dataset.to_unit_range, seed, snapshot_interval, chief)


def ensure_writable_dir(path: str | Path, what: str, create: bool = True) -> None:
    """Refuse, in one line naming ``what``, a directory that cannot be written (made first when ``create``)."""
    path = Path(path)
    if not create and not path.exists():
        return
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "it is a file")
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise SetupError(f"{what}={path} is not a writable directory ({e.strerror or e}); choose another") from e


def check_run_setup(
    dataset: ImageDataset, runs: list[tuple[int, str]], flag_values: flags.FlagValues = FLAGS
) -> classifier.SampleClassifier | None:
    """What can be known wrong before anything is trained or written: sizes, directories, the classifier's cache.

    Returns the cached sample classifier when evaluation will need one and it exists.
    """
    f = flag_values
    for flag in ("root_log_dir", "root_checkpoint_dir"):
        ensure_writable_dir(f[flag].value, f"--{flag}")
    if f.batch_size > dataset.train.num_examples:
        raise SetupError(
            f"--batch_size={f.batch_size} exceeds the {dataset.train.num_examples} training images of {dataset.name}"
        )
    for _, name in runs:
        ensure_writable_dir(Path(f.root_log_dir) / name, "the run's log directory", create=False)
        ensure_writable_dir(Path(f.root_checkpoint_dir) / name, "the run's checkpoint directory", create=False)
    return classifier.load_cached(dataset, f.classifier_path) if f.evaluate and dataset.labelled else None


def run_names(flag_values: flags.FlagValues = FLAGS) -> tuple[str, list[tuple[int, str]]]:
    """The base name and (seed, exp_name) of each run the flags ask for: one, or one per --seeds entry."""
    f = flag_values
    base = f.exp_name or f"{f.dataset}_{datetime.datetime.now():%Y_%m_%d_%H_%M_%S}"
    if not f.seeds:
        return base, [(f.seed, base)]
    return base, [(int(s), f"{base}_seed{int(s)}") for s in f.seeds]


def model_config(dataset: ImageDataset, flag_values: flags.FlagValues = FLAGS) -> ModelConfig:
    f = flag_values
    return ModelConfig.for_dataset(
        dataset,
        f.latent_spec,
        network_type=f.network_type,
        leak=f.leak,
        precision=f.precision,
        layer_kit=f.layer_kit,
        sync_batch_norm=f.sync_batch_norm,
        overclusters=f.invariance_overclusters,
    )


def make_strategy(flag_values: flags.FlagValues = FLAGS) -> tf.distribute.Strategy:
    """The strategy the flags name; call before any other TensorFlow work (it may split the CPU)."""
    try:
        strategies.split_cpu(flag_values.cpu_devices)
        return strategies.make_strategy(flag_values.strategy)
    except strategies.StrategyError as e:
        raise SetupError(str(e)) from e


def batch_stream(
    dataset: ImageDataset, seed: int, strategy: tf.distribute.Strategy, flag_values: flags.FlagValues = FLAGS
) -> Callable[[int], Iterable]:
    """``batches(start)`` for the trainer: tf.data, split over replicas, or gathered on the device, as the flags say.

    Refuses (``SetupError``) what the strategy cannot run: a batch that does not split
    over the replicas, device batches for several replicas, XLA over several replicas.
    """
    f = flag_values
    try:
        strategies.replica_batch_size(strategy, f.batch_size)
    except strategies.StrategyError as e:
        raise SetupError(str(e)) from e
    distributed = strategies.is_distributed(strategy)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    on_device = f.input_pipeline == "device" or (f.input_pipeline == "auto" and gpu and not distributed)
    if on_device and distributed:
        raise SetupError("--input_pipeline=device feeds one device; with a --strategy of several, use tf_data")
    if f.jit_compile and strategy.num_replicas_in_sync > 1:
        raise SetupError(
            "--jit_compile compiles one device's update; XLA cannot reach the other replicas' variables from it: "
            "drop --jit_compile, or use --strategy=one_device"
        )

    def batches(start: int) -> Iterable:
        if on_device:
            return dataset.train.device_batches(f.batch_size, seed=seed, start=start)
        stream = lambda: dataset.train.batches(f.batch_size, seed=seed, start=start)  # noqa: E731
        return strategies.distribute_batches(strategy, stream, f.batch_size) if distributed else stream()

    return batches


def build(
    seed: int,
    exp_name: str,
    dataset: ImageDataset,
    flag_values: flags.FlagValues = FLAGS,
    strategy: tf.distribute.Strategy | None = None,
) -> Run:
    """The run (trainer, model, checkpoints) that the flags describe, for one seed, under ``strategy``."""
    f = flag_values
    strategy = strategy or tf.distribute.get_strategy()
    if f.deterministic:
        tf.config.experimental.enable_op_determinism()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    batches = batch_stream(dataset, seed, strategy, f)
    try:  # a latent spec or network type that does not fit the dataset fails here, in one line
        trainer = build_trainer(
            model_config(dataset, f),
            batches,
            f.batch_size,
            seed=seed,
            discriminator_learning_rate=scaled_learning_rate(
                f.discriminator_learning_rate, f.batch_size, f.lr_batch_scaling
            ),
            generator_learning_rate=scaled_learning_rate(f.generator_learning_rate, f.batch_size, f.lr_batch_scaling),
            info_reg_coeff=f.info_reg_coeff,
            train_q=f.train_q,
            reuse_fake_batch=f.reuse_fake_batch,
            continuous_info_reg_coeff=f.continuous_info_reg_coeff,
            info_reg_warmup=f.info_reg_warmup,
            generator_average=f.generator_average,
            generator_average_from=f.generator_average_from,
            max_epoch=f.max_epoch,
            updates_per_epoch=f.updates_per_epoch,
            jit_compile=f.jit_compile,
            strategy=strategy,
            check_interval=f.check_interval or (GPU_CHECK_INTERVAL if gpu else 1),
            invariance=Invariance(
                f.invariance_coeff,
                f.invariance_degrees,
                f.invariance_shift,
                f.invariance_copies,
                f.invariance_scale,
                f.invariance_fakes,
                f.invariance_shear,
                f.invariance_elastic,
                f.invariance_elastic_sigma,
                f.invariance_deslant,
                f.invariance_leads,
                f.invariance_leads_from,
                f.invariance_erase,
                f.invariance_erased_copies,
            ),
        )
    except ValueError as e:
        raise SetupError(f"the model cannot be built for {dataset.name}'s images: {e}") from e
    return make_run(
        trainer,
        dataset,
        exp_name,
        Path(f.root_log_dir) / exp_name,
        Path(f.root_checkpoint_dir) / exp_name,
        f.batch_size,
        seed=seed,
        snapshot_interval=f.snapshot_interval,
        max_to_keep=f.max_to_keep,
    )


def load_classifier(dataset: ImageDataset, flag_values: flags.FlagValues = FLAGS):
    """The dataset's sample classifier (cached), or None where the dataset has no labels."""
    return classifier.load_or_train(dataset, flag_values.classifier_path) if dataset.labelled else None


def evaluate_run(
    exp_name: str,
    seed: int,
    dataset: ImageDataset,
    sample_classifier,
    checkpoint: str | None = None,
    flag_values: flags.FlagValues = FLAGS,
) -> dict:
    """Evaluate a run into its log directory, or ``checkpoint`` into ``evaluation/<checkpoint name>/`` beside it.

    Each checkpoint keeps its own evaluation, so evaluating a run at several updates (how
    early a failing seed shows, #14) loses none of them; ``--generator_weights=trained``
    writes into a ``trained_generator/`` folder there, beside the average's evaluation.
    """
    f = flag_values
    log_dir = Path(f.root_log_dir) / exp_name
    baseline = f.baseline
    source = load(checkpoint or Path(f.root_checkpoint_dir) / exp_name, generator=f.generator_weights)
    out_dir = log_dir
    if checkpoint:
        out_dir = checkpoint_paths(checkpoint)[0] / "evaluation" / Path(source.checkpoint_path).name
    if f.generator_weights == "trained":
        out_dir = out_dir / "trained_generator"
    results = report.evaluate(
        source,
        dataset,
        sample_classifier,
        out_dir=out_dir,
        log_dir=log_dir,
        baseline_checkpoint=Path(f.root_checkpoint_dir) / baseline if baseline else None,
        baseline_log_dir=Path(f.root_log_dir) / baseline if baseline else None,
        num_samples=f.eval_samples,
        seed=seed,
    )
    print(report.results_markdown(results) if not checkpoint else json.dumps(results, indent=2))
    return results


def summarize(base: str, results: dict[int, dict], flag_values: flags.FlagValues = FLAGS) -> None:
    """Write and print the summary over seeds, when there are several."""
    if len(results) > 1:
        out = Path(flag_values.root_log_dir) / f"{base}_summary"
        summary.write_summary(out, results)
        print((out / "summary.md").read_text())


def preset_named_in(argv: Sequence[str]) -> str | None:
    """The ``--preset`` that ``argv`` names (flag files included), read before the flags are parsed."""
    probe = flags.FlagValues()
    flags.DEFINE_string("preset", None, "", flag_values=probe)
    try:
        probe(list(argv), known_only=True)
    except flags.Error:
        return None  # the real parse reports it
    return probe.preset if probe.preset in PRESETS else None


def preset_line(flag_values: flags.FlagValues = FLAGS) -> str:
    """What ``--preset`` set, and what the command line kept for itself."""
    preset = PRESETS[flag_values.preset]
    own = [name for name in preset.settings if flag_values[name].present]
    kept = f"; the command line's own: {', '.join('--' + n for n in own)}" if own else ""
    values = " ".join(f"--{name}={flag_values[name].value}" for name in preset.settings)
    return f"Preset {flag_values.preset}: {values}{kept}"


def run_flags(seed: int, exp_name: str, max_epoch: int, flag_values: flags.FlagValues = FLAGS) -> str:
    """The command's flags as this one run had them: its own name, seed and schedule, no ``--seeds``.

    A command over several seeds, or a restart candidate stopped at the selection update,
    would otherwise record the command's ``--seed`` and ``--max_epoch``, not the run's.
    """
    own = {"exp_name": exp_name, "seed": seed, "max_epoch": max_epoch}
    lines = [
        line
        for line in flag_values.flags_into_string().splitlines()
        if line.split("=", 1)[0].lstrip("-") not in {*own, "seeds"}
    ]
    return "\n".join([*lines, *(f"--{name}={value}" for name, value in own.items())]) + "\n"


def start_run(
    seed: int,
    exp_name: str,
    dataset: ImageDataset,
    strategy: tf.distribute.Strategy,
    resume: str,
    max_epoch: int | None = None,
) -> Run:
    """The run built and restored (``resume``), its flags written, where it is said; ready to ``train``.

    ``max_epoch``: where this run stops, if not where the flags say (a restart candidate).
    """
    run = build(seed, exp_name, dataset, strategy=strategy)
    if max_epoch is not None:
        run.trainer.max_epoch = max_epoch
    run.start(resume)
    if run.chief:
        run.log_dir.mkdir(parents=True, exist_ok=True)
        (run.log_dir / "flags.txt").write_text(run_flags(seed, exp_name, run.trainer.max_epoch))
    replicas = strategy.num_replicas_in_sync
    where = f" ({replicas} replicas, {strategies.worker_name(strategy)})" if replicas > 1 else ""
    print(f"Logs: {run.log_dir}  Checkpoints: {run.checkpoint_dir}{where}")
    d_rate, g_rate = run.trainer.train_step.learning_rates
    reuse = "; the G step reuses the D step's batch" if FLAGS.reuse_fake_batch else ""
    print(f"Learning rates: D {d_rate:.4g}, G {g_rate:.4g}{reuse}")
    return run


def every_run(base: str, runs: list[tuple[int, str]], strategy: tf.distribute.Strategy) -> list[tuple[int, str]]:
    """(seed, name) of each run the command may train: with --restarts, every candidate of every seed."""
    if FLAGS.restarts == 1:
        return runs
    if strategies.is_multi_worker(strategy):
        raise SetupError("--restarts reads each candidate's score from the chief's logs: run it on one worker")
    return [(c.seed, c.name) for seed, name in runs for c in restarts.candidates(seed, name, base, FLAGS.restarts)]


def check_restart_criterion(dataset: ImageDataset) -> None:
    """``category_entropy`` reads the first categorical code of Q; a run without one cannot be scored by it."""
    if FLAGS.restarts == 1 or FLAGS.restart_criterion != restarts.CATEGORY_ENTROPY:
        return
    spec = model_config(dataset).latent_spec
    if not any(reg and isinstance(dist, Categorical) for dist, reg in parse_latent_spec(spec)):
        raise SetupError(
            f"--restart_criterion={restarts.CATEGORY_ENTROPY} reads a categorical code, and the latent spec "
            f"'{spec}' has none marked ':reg'; choose --restart_criterion={restarts.INVARIANCE_MI} or add one"
        )


def candidate_score(run: Run, dataset: ImageDataset) -> float:
    """The candidate's --restart_criterion at the selection update, from its logs or its checkpoint of that update."""
    at, criterion = FLAGS.restart_select_at, FLAGS.restart_criterion
    if criterion == restarts.INVARIANCE_MI:
        return restarts.score(run.log_dir, at)
    kept = restarts.kept_score(run.log_dir, criterion, at)
    if kept is not None:
        return kept
    checkpoint = run.checkpoint_dir / f"{run.checkpoint.name}-{at}"
    if not Path(f"{checkpoint}.index").is_file():
        raise restarts.SelectionError(
            f"{checkpoint}, the candidate's checkpoint of update {at}, is gone and its score was not kept in "
            f"{run.log_dir / restarts.SCORE_FILE}, so it cannot be scored by {criterion}; give the command a new "
            "--exp_name (this run is left as it is)"
        )
    loaded = load(checkpoint, generator="trained")
    index = report.categorical_index(loaded)
    categories = report.categorical_predictions(loaded, dataset.train.images)
    value = restarts.category_entropy(categories, loaded.model.reg_latent_dist.dists[index].dim)
    restarts.keep_score(run.log_dir, criterion, at, value, str(checkpoint))
    return value


def record_choice(seed: int, exp_name: str, scored: list[tuple[restarts.Candidate, float]]) -> restarts.Candidate:
    """The candidate with the highest score, written with every score to ``restarts.json`` in the seed's logs."""
    at, criterion = FLAGS.restart_select_at, FLAGS.restart_criterion
    chosen = restarts.choose(scored)
    written = restarts.write_selection(Path(FLAGS.root_log_dir) / exp_name, at, scored, chosen, criterion)
    listed = ", ".join(f"{c.name} {s:.5f}" for c, s in scored)
    print(f"Seed {seed}'s restarts, {criterion} at update {at}: {listed}; {chosen.name} trains on ({written})")
    return chosen


def _train_main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    if FLAGS.preset:
        print(preset_line())
    run = None
    try:
        strategy = make_strategy()
        dataset = DATASETS[FLAGS.dataset](FLAGS.data_dir)
        (base, runs), results = run_names(), {}
        if not FLAGS.exp_name:  # the name is a new timestamp each time: the same command would start another run
            process.set_rerun_command(f"rerun the same command with --exp_name={base}")
        check_restart_criterion(dataset)
        sample_classifier = check_run_setup(dataset, every_run(base, runs, strategy))
        for seed, exp_name in runs:
            resume = FLAGS.resume
            if FLAGS.restarts > 1:  # each candidate to the selection update, then the chosen one on
                scored = []
                for candidate in restarts.candidates(seed, exp_name, base, FLAGS.restarts):
                    until = FLAGS.restart_select_at // FLAGS.updates_per_epoch
                    run = start_run(candidate.seed, candidate.name, dataset, strategy, FLAGS.resume, until)
                    run.train()
                    scored.append((candidate, candidate_score(run, dataset)))
                chosen = record_choice(seed, exp_name, scored)
                seed, exp_name, resume = chosen.seed, chosen.name, "latest"
            run = start_run(seed, exp_name, dataset, strategy, resume)
            run.train()
            if FLAGS.evaluate and run.chief:
                sample_classifier = sample_classifier or load_classifier(dataset)
                results[seed] = evaluate_run(exp_name, seed, dataset, sample_classifier)
        summarize(base, results)
    except NonFiniteLossError as e:
        newest = run.checkpoint.latest if run else None
        sys.exit(f"error: {e} (the last good checkpoint, from before it, is {newest or 'none yet'})")
    except (SetupError, DataError, CheckpointError, ClassifierError, restarts.SelectionError) as e:
        sys.exit(f"error: {e}")
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")
    except TrainingInterrupted as e:
        print(f"{e}; saved {run.checkpoint.latest}; {process.rerun_command()} to resume", file=sys.stderr)
        sys.exit(128 + e.signum)


def _sample_seed(checkpoint_dir: Path, seed: int) -> int:
    """The seed of the evaluation's samples: --seed where the command line gives it, else the run's own.

    The run's own seed is the one its end-of-training evaluation used, so evaluating a
    finished run again repeats its numbers instead of drawing other samples.
    """
    if FLAGS["seed"].present:
        return seed
    trained = trained_seed(checkpoint_dir)
    return seed if trained is None else trained


def _evaluate_main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    if not FLAGS.checkpoint and not FLAGS.exp_name:
        raise app.UsageError("name the run with --exp_name (and --seeds), or a checkpoint with --checkpoint")
    try:
        dataset = DATASETS[FLAGS.dataset](FLAGS.data_dir)
        base, runs = run_names()
        locations = [FLAGS.checkpoint] if FLAGS.checkpoint else [Path(FLAGS.root_checkpoint_dir) / n for _, n in runs]
        directories = []
        for location in locations:  # before the classifier, which may take minutes to train
            directory, paths = checkpoint_paths(location)
            read_model_config(directory)
            if not paths:
                raise CheckpointError(f"{location} holds no checkpoint to evaluate")
            directories.append(directory)
        sample_classifier = load_classifier(dataset)
        if FLAGS.checkpoint:  # its training log is found under the name of its directory, the run's name
            seed = _sample_seed(directories[0], FLAGS.seed)
            name = FLAGS.exp_name or directories[0].name
            evaluate_run(name, seed, dataset, sample_classifier, checkpoint=FLAGS.checkpoint)
            return
        results = {
            seed: evaluate_run(name, _sample_seed(directory, seed), dataset, sample_classifier)
            for (seed, name), directory in zip(runs, directories)
        }
        summarize(base, results)
    except (DataError, CheckpointError, ClassifierError) as e:
        sys.exit(f"error: {e}")
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")


def _os_error(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return f"the disk is full ({e.filename or e}); free space and {process.rerun_command()} to resume"
    return f"{e.strerror or e}{f': {e.filename}' if e.filename else ''}"


def _load_named_run() -> tuple[str, LoadedModel]:
    """The run ``--checkpoint`` or ``--exp_name`` names, loaded."""
    if not FLAGS.checkpoint and not FLAGS.exp_name:
        raise app.UsageError("name the run with --exp_name, or a checkpoint with --checkpoint")
    location = FLAGS.checkpoint or Path(FLAGS.root_checkpoint_dir) / FLAGS.exp_name
    return FLAGS.exp_name or Path(location).name, load(location, generator=FLAGS.generator_weights)


def _sample_main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    try:
        name, loaded = _load_named_run()
        codes = sampling.resolve_codes(loaded, FLAGS.code)
        out = FLAGS.out or Path(FLAGS.root_log_dir) / name / "samples"
        low, high = (float(v) for v in FLAGS.range)
        written = sampling.write_code_samples(loaded, out, codes, (low, high), FLAGS.steps, seed=FLAGS.seed)
        print(f"Update {loaded.step} of {loaded.checkpoint_path}: wrote " + ", ".join(str(p) for p in written))
    except (CheckpointError, sampling.UnknownCodeError) as e:
        sys.exit(f"error: {e}")
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")


def _export_main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    try:
        name, loaded = _load_named_run()
        written = export.export(loaded, FLAGS.out or Path("exports") / name)
        print(f"Update {loaded.step} of {loaded.checkpoint_path}: wrote " + ", ".join(str(p) for p in written.values()))
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")


def launch(settings: Mapping[str, Any], main: Callable[[list[str]], None] = _train_main) -> None:
    """Run ``main`` (training by default): ``settings`` become flag defaults, the command line overrides them.

    A ``--preset`` on the command line overrides ``settings`` in turn, as defaults too, so
    the flags' validators see the values the run will use and a flag given still wins.
    """
    tf.get_logger().setLevel(logging.WARNING)  # tf.distribute logs every collective it plans at INFO
    preset = preset_named_in(sys.argv)
    for name, value in {**settings, **(PRESETS[preset].settings if preset else {})}.items():
        FLAGS.set_default(name, value)
    for flag in FLAGS.flags_by_module_dict().get(_flags.__name__, []):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)  # so --help lists them, not only --helpfull
    flags.register_validator(
        "resume",
        is_resume_source,
        message="--resume must be auto, latest, never, or an existing checkpoint directory/path",
    )

    def quiet_main(argv: list[str]) -> None:
        if not FLAGS["verbosity"].present:  # TF's own INFO lines (e.g. per checkpoint save) only when asked for
            absl_logging.set_verbosity(absl_logging.WARNING)
        main(argv)

    app.run(quiet_main)


def launch_evaluation(settings: Mapping[str, Any]) -> None:
    launch(settings, _evaluate_main)


def launch_sampling(settings: Mapping[str, Any]) -> None:
    launch(settings, _sample_main)


def launch_export(settings: Mapping[str, Any]) -> None:
    launch(settings, _export_main)
