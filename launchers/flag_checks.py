"""The flags' validators: a bad value is refused before anything is built, in one line naming the flag and fix."""

from __future__ import annotations

import re

from absl import flags
from infogan_tf_launchers.flag_definitions import MAX_SEED

from infogan_tf.averaging import check_decay
from infogan_tf.data import DATASETS, TFDS_PREFIX
from infogan_tf.invariance.restarts import INVARIANCE_MI, SEED_STRIDE, shared_candidates
from infogan_tf.latent_spec import LatentSpecError, parse_latent_spec
from infogan_tf.networks import AUTO, NETWORK_FOR_SIZE, NETWORK_TYPES

for _name in ("generator_learning_rate", "discriminator_learning_rate"):
    flags.register_validator(_name, lambda v: 0.0 < v <= 1.0, message=f"--{_name} must lie in (0, 1]")


def _valid_generator_average(decay: float) -> bool:
    if decay:
        try:
            check_decay(decay)
        except ValueError as e:
            raise flags.ValidationError(f"--generator_average: {e}; 0 keeps none") from e
    return True


flags.register_validator("generator_average", _valid_generator_average)
flags.register_multi_flags_validator(
    ["generator_average", "generator_average_from"],
    lambda v: not v["generator_average_from"] or bool(v["generator_average"]),
    message="--generator_average_from delays an average that --generator_average keeps: set both (e.g. "
    "--generator_average=0.999 --generator_average_from=4000), or drop --generator_average_from",
)


def _valid_latent_spec(text: str) -> bool:
    try:
        parse_latent_spec(text)
    except LatentSpecError as e:
        raise flags.ValidationError(str(e)) from e
    return True


def _valid_range(values: list[str]) -> bool:
    try:
        low, high = (float(v) for v in values)
    except ValueError as e:
        raise flags.ValidationError(f"--range must be two numbers low,high, e.g. -2,2; not {','.join(values)}") from e
    if not low < high:
        raise flags.ValidationError(f"--range must go from low to high; {low} is not below {high}")
    return True


flags.register_validator("range", _valid_range)
flags.register_validator("latent_spec", _valid_latent_spec)


def _valid_dataset(value: str) -> bool:
    if value not in DATASETS and not (value.startswith(TFDS_PREFIX) and len(value) > len(TFDS_PREFIX)):
        raise flags.ValidationError(
            f"--dataset={value} is unknown; known: {', '.join(sorted(DATASETS))}, or {TFDS_PREFIX}NAME"
        )
    return True


def _valid_network_type(value: str) -> bool:
    if value != AUTO and value not in NETWORK_TYPES:
        raise flags.ValidationError(
            f"--network_type={value} is unknown; known: {', '.join(sorted(NETWORK_TYPES))}, or {AUTO}"
        )
    return True


flags.register_validator("dataset", _valid_dataset)
flags.register_validator("network_type", _valid_network_type)
flags.register_validator(
    "image_size",
    lambda v: v is None or v in NETWORK_FOR_SIZE,
    message=f"--image_size must be one of the networks' sizes: {', '.join(map(str, NETWORK_FOR_SIZE))}",
)
flags.register_validator("channels", lambda v: v in (None, 1, 3), message="--channels must be 1 (grey) or 3 (colour)")
flags.register_validator(
    "test_share", lambda v: 0.0 <= v < 1.0, message="--test_share must lie in [0, 1): the held-out share of the images"
)
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}")
"""A run's name becomes a directory name: no path separators, no leading dot, no '..'."""


def _valid_run_name(flag: str):
    def check(value: str | None) -> bool:
        if value is not None and (not RUN_NAME.fullmatch(value) or ".." in value):
            raise flags.ValidationError(
                f"--{flag}={value!r} cannot name a run directory: use letters, digits and . _ + = - "
                "(at most 200, not starting with a dot, no '/' or '..')"
            )
        return True

    return check


def _valid_seeds(values: list[str] | None) -> bool:
    if values is None:
        return True
    texts = [v.strip() for v in values]
    bad = [t for t in texts if not (t.isascii() and t.isdigit()) or int(t) > MAX_SEED]
    if bad:
        raise flags.ValidationError(f"--seeds must be integers from 0 to {MAX_SEED}, e.g. 0,1,2; not {bad[0]!r}")
    seeds = [int(t) for t in texts]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise flags.ValidationError(
            f"--seeds lists {', '.join(map(str, repeated))} more than once; each seed is one run"
        )
    return True


flags.register_validator("seeds", _valid_seeds)
flags.register_validator("exp_name", _valid_run_name("exp_name"))
flags.register_validator("baseline", _valid_run_name("baseline"))


_OPTIONS_OF_THE_TERM = (
    "invariance_overclusters",
    "invariance_fakes",
    "invariance_leads",
    "invariance_leads_from",
    "invariance_erase",
    "invariance_erased_copies",
)
"""Flags that mean nothing without --invariance_coeff > 0, so setting one alone is an error."""


def _invariance_options_need_the_term(values: dict) -> bool:
    if values["invariance_coeff"]:
        if values["invariance_overclusters"] == 1:
            raise flags.ValidationError("--invariance_overclusters needs at least 2 clusters (or 0 for none)")
        if values["invariance_fakes"] and values["reuse_fake_batch"]:
            raise flags.ValidationError(
                "--invariance_fakes reads the code from the G step's own batch: drop --reuse_fake_batch"
            )
        if values["invariance_leads_from"] and not values["invariance_leads"]:
            raise flags.ValidationError(
                "--invariance_leads_from says when the invariance term starts leading: add --invariance_leads, "
                "or drop --invariance_leads_from"
            )
        if values["invariance_fakes"] and values["invariance_leads"]:
            raise flags.ValidationError(
                "--invariance_leads keeps G's images from training Q's categorical code, which --invariance_fakes "
                "does: drop one of them"
            )
        return True
    for name in _OPTIONS_OF_THE_TERM:
        if values[name]:
            raise flags.ValidationError(
                f"--{name} only works through the invariance term: set --invariance_coeff > 0 too, or drop --{name}"
            )
    return True


flags.register_multi_flags_validator(
    ["invariance_coeff", *_OPTIONS_OF_THE_TERM, "reuse_fake_batch"], _invariance_options_need_the_term
)


def _lead_starts_within_the_schedule(values: dict) -> bool:
    updates = values["max_epoch"] * values["updates_per_epoch"]
    if values["invariance_leads_from"] >= updates:
        raise flags.ValidationError(
            f"--invariance_leads_from={values['invariance_leads_from']} is past the run's last update ({updates}), "
            "so the invariance term would never lead: lower it, or drop it to lead from the start"
        )
    return True


flags.register_multi_flags_validator(
    ["invariance_leads_from", "max_epoch", "updates_per_epoch"], _lead_starts_within_the_schedule
)


def _restarts_can_choose(values: dict) -> bool:
    if values["restarts"] == 1:
        return True
    if values["restart_criterion"] == INVARIANCE_MI and not values["invariance_coeff"]:
        raise flags.ValidationError(
            "--restarts chooses by the invariance term's I(c; c'): set --invariance_coeff > 0 "
            "(e.g. --preset=invariant), choose by --restart_criterion=category_entropy, or drop --restarts"
        )
    at, per_epoch, updates = values["restart_select_at"], values["updates_per_epoch"], values["max_epoch"]
    updates *= per_epoch
    if at % per_epoch or at >= updates:
        raise flags.ValidationError(
            f"--restart_select_at={at} must end an epoch (a multiple of --updates_per_epoch={per_epoch}) before the "
            f"run's last update ({updates})"
        )
    if values["resume"] not in ("auto", "latest", "never"):
        raise flags.ValidationError(
            "--resume=<checkpoint> starts one run from it; with --restarts each candidate starts from its own "
            "directory: use --resume=auto"
        )
    seeds = [values["seed"]] if not values["seeds"] else [int(s) for s in values["seeds"] if s.strip().isdigit()]
    too_big = [s for s in seeds if s + (values["restarts"] - 1) * SEED_STRIDE > MAX_SEED]
    if too_big:
        raise flags.ValidationError(f"seed {too_big[0]}'s candidates would pass the largest seed, {MAX_SEED}")
    shared = shared_candidates(seeds, values["restarts"])
    if shared:
        raise flags.ValidationError(
            f"with --restarts={values['restarts']}, seed {shared[0]} would be a candidate of two of --seeds "
            f"(candidates are {SEED_STRIDE} apart): keep --seeds less than {SEED_STRIDE} apart"
        )
    return True


flags.register_multi_flags_validator(
    [
        "restarts",
        "restart_select_at",
        "restart_criterion",
        "invariance_coeff",
        "updates_per_epoch",
        "max_epoch",
        "resume",
        "seed",
        "seeds",
    ],
    _restarts_can_choose,
)
