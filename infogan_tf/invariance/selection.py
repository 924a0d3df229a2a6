"""Restarts as a run chooser: each seed's candidates trained to the selection update, scored, one trained on.

``experiment.Experiment`` knows only the ``RunChooser`` interface; this module is the
one implementation, for ``RestartConfig.count`` > 1 (``restarts.py`` has the scores and
the record of the choice).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tensorflow as tf

from infogan_tf import strategies
from infogan_tf.checkpoints import load
from infogan_tf.config import ExperimentConfig
from infogan_tf.data.base import ImageDataset
from infogan_tf.distributions import Categorical
from infogan_tf.evaluation import report
from infogan_tf.experiment import Experiment, Run, SetupError, model_config
from infogan_tf.invariance import restarts
from infogan_tf.latent_spec import parse_latent_spec


class Restarts:
    """``config.restarts.count`` candidates per seed, chosen by ``config.restarts.criterion`` without labels."""

    def __init__(self, config: ExperimentConfig):
        self.config = config

    def check(self, dataset: ImageDataset) -> None:
        """``category_entropy`` reads the first categorical code of Q; a run without one cannot be scored by it."""
        if self.config.restarts.criterion != restarts.CATEGORY_ENTROPY:
            return
        spec = model_config(dataset, self.config).latent_spec
        if not any(reg and isinstance(dist, Categorical) for dist, reg in parse_latent_spec(spec)):
            raise SetupError(
                f"{{restarts.criterion}}={restarts.CATEGORY_ENTROPY} reads a categorical code, and the latent spec "
                f"'{spec}' has none marked ':reg'; choose {{restarts.criterion}}={restarts.INVARIANCE_MI} or add one"
            )

    def runs(self, base: str, runs: list[tuple[int, str]], strategy: tf.distribute.Strategy) -> list[tuple[int, str]]:
        """Every candidate of every seed."""
        if strategies.is_multi_worker(strategy):
            raise SetupError(
                "{restarts.count} reads each candidate's score from the chief's logs: run it on one worker"
            )
        count = self.config.restarts.count
        return [(c.seed, c.name) for seed, name in runs for c in restarts.candidates(seed, name, base, count)]

    def choose(self, experiment: Experiment, seed: int, exp_name: str) -> tuple[int, str]:
        """Each candidate to the selection update, scored; the chosen one's (seed, name)."""
        config = self.config
        until = config.restarts.select_at // config.train.updates_per_epoch
        candidate_config = dataclasses.replace(config, train=dataclasses.replace(config.train, max_epoch=until))
        scored = []
        for candidate in restarts.candidates(seed, exp_name, experiment.base, config.restarts.count):
            run = experiment.train_run(candidate.seed, candidate.name, candidate_config)
            scored.append((candidate, self.score(run, experiment.dataset)))
        chosen = self.record_choice(seed, exp_name, scored)
        return chosen.seed, chosen.name

    def score(self, run: Run, dataset: ImageDataset) -> float:
        """The candidate's criterion at the selection update, from its logs or its checkpoint of that update."""
        at, criterion = self.config.restarts.select_at, self.config.restarts.criterion
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
                "{run.exp_name} (this run is left as it is)"
            )
        loaded = load(checkpoint, generator="trained")
        index = report.categorical_index(loaded)
        categories = report.categorical_predictions(loaded, dataset.train.images)
        value = restarts.category_entropy(categories, loaded.model.reg_latent_dist.dists[index].dim)
        restarts.keep_score(run.log_dir, criterion, at, value, str(checkpoint))
        return value

    def record_choice(
        self, seed: int, exp_name: str, scored: list[tuple[restarts.Candidate, float]]
    ) -> restarts.Candidate:
        """The candidate with the highest score, written with every score to ``restarts.json`` in the seed's logs."""
        at, criterion = self.config.restarts.select_at, self.config.restarts.criterion
        chosen = restarts.choose(scored)
        written = restarts.write_selection(Path(self.config.run.root_log_dir) / exp_name, at, scored, chosen, criterion)
        listed = ", ".join(f"{c.name} {s:.5f}" for c, s in scored)
        print(f"Seed {seed}'s restarts, {criterion} at update {at}: {listed}; {chosen.name} trains on ({written})")
        return chosen
