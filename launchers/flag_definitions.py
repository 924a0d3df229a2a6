"""Every flag the launchers share, each with its ``ExperimentConfig`` field's default (the original's value).

A launcher changes defaults only (its settings); ``flag_checks`` rejects bad values and
``command`` turns the parsed flags into the config.
"""

from __future__ import annotations

from absl import flags

from infogan_tf.averaging import GENERATOR_WEIGHTS
from infogan_tf.config import ExperimentConfig
from infogan_tf.data import DATA_DIR_ENV
from infogan_tf.invariance.presets import PRESETS
from infogan_tf.invariance.restarts import CRITERIA, SEED_STRIDE
from infogan_tf.networks import LAYER_KITS, PRECISIONS
from infogan_tf.optimizers import BATCH_SCALING_RULES
from infogan_tf.strategies import STRATEGIES

FLAGS = flags.FLAGS
DEFAULT = ExperimentConfig()

flags.DEFINE_string(
    "dataset",
    DEFAULT.dataset,
    "Training data: a registered dataset (infogan_tf.data.DATASETS: folder and npz read your own images), "
    "or tfds:NAME for a tensorflow-datasets image dataset.",
)
flags.DEFINE_string(
    "data_dir",
    None,
    f"Directory of the dataset's files (MNIST: four IDX .gz files; folder: the images; npz: the .npz file). "
    f"Unset: ${DATA_DIR_ENV}, then tensorflow-datasets.",
)
flags.DEFINE_string(
    "network_type",
    DEFAULT.model.network_type,
    "Layer stacks of G, D and Q: a registered network type, or auto (by image size: 28 mnist, 32 svhn, 64 conv64).",
)
flags.DEFINE_integer(
    "image_size",
    DEFAULT.images.image_size,
    "folder, npz, tfds: the images' side after centre-cropping and resizing (28, 32 or 64). "
    "Unset: the largest that every image covers.",
)
flags.DEFINE_integer(
    "channels",
    DEFAULT.images.channels,
    "folder, npz, tfds: 1 (grey) or 3 (colour). Unset: grey where every image is grey, colour where every one is.",
)
flags.DEFINE_float(
    "test_share",
    DEFAULT.images.test_share,
    "folder, npz, tfds: the share of the images held out for the evaluation where the source has no test split.",
)
flags.DEFINE_integer(
    "in_memory_limit_mb",
    DEFAULT.images.in_memory_limit_mb,
    "folder: above this many MB of decoded images, the training images stream from disk.",
    lower_bound=0,
)
flags.DEFINE_string("tfds_split", DEFAULT.images.tfds_split, "tfds:NAME: the split to train on (tfds's split syntax).")
flags.DEFINE_string(
    "tfds_data_dir", DEFAULT.images.tfds_data_dir, "tfds:NAME: where its prepared files are. Unset: tfds's default."
)
flags.DEFINE_string(
    "tfds_image_key", DEFAULT.images.tfds_image_key, "tfds:NAME: the image feature. Unset: its only image feature."
)
flags.DEFINE_string(
    "tfds_label_key",
    DEFAULT.images.tfds_label_key,
    "tfds:NAME: the label feature. Unset: its only class label, or the one named label; else no labels.",
)
flags.DEFINE_string(
    "latent_spec",
    DEFAULT.model.latent_spec,
    "Noise and codes, e.g. 'uniform:62,categorical:10:reg' (see infogan_tf/latent_spec.py).",
)
flags.DEFINE_integer("batch_size", DEFAULT.train.batch_size, "Images per D step and latents per G step.", lower_bound=1)
flags.DEFINE_integer(
    "updates_per_epoch",
    DEFAULT.train.updates_per_epoch,
    "Updates (a D step and a G step each) per epoch.",
    lower_bound=1,
)
flags.DEFINE_integer("max_epoch", DEFAULT.train.max_epoch, "Epochs to train.", lower_bound=1)
flags.DEFINE_float(
    "info_reg_coeff",
    DEFAULT.train.info_reg_coeff,
    "lambda: weight of the mutual-information term in both losses.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "continuous_info_reg_coeff",
    DEFAULT.train.continuous_info_reg_coeff,
    "lambda of the continuous codes alone; unset: --info_reg_coeff, as in the original (the paper uses a smaller one).",
    lower_bound=0.0,
)
flags.DEFINE_integer(
    "info_reg_warmup",
    DEFAULT.train.info_reg_warmup,
    "Beyond the original: every lambda grows linearly from 0 over this many updates (0: full from the start).",
    lower_bound=0,
)
flags.DEFINE_float(
    "invariance_coeff",
    DEFAULT.invariance.coeff,
    "Beyond the paper: weight of I(c; c') of Q's categorical codes of real images and of randomly rotated and "
    "shifted copies (IIC), in D's objective; 0: off, as in the original.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "invariance_degrees",
    DEFAULT.invariance.max_degrees,
    "Largest rotation of the invariance term's copies.",
    lower_bound=0.0,
    upper_bound=180.0,
)
flags.DEFINE_float(
    "invariance_shift",
    DEFAULT.invariance.max_shift,
    "Largest shift (pixels) of the invariance term's copies.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "invariance_scale",
    DEFAULT.invariance.max_scale,
    "Largest scaling of the invariance term's copies, either way (0.1: by 0.9 to 1.1); 0: none.",
    lower_bound=0.0,
    upper_bound=0.5,
)
flags.DEFINE_float(
    "invariance_shear",
    DEFAULT.invariance.max_shear,
    "Largest shear (slant) of the invariance term's copies: each row moved sideways by up to this fraction of its "
    "distance from the centre (0.3: a slant of about 17 degrees either way); 0: none.",
    lower_bound=0.0,
    upper_bound=1.0,
)
flags.DEFINE_float(
    "invariance_elastic",
    DEFAULT.invariance.elastic,
    "Elastic distortion of the invariance term's copies, Simard et al. (2003)'s alpha: a random displacement per "
    "pixel, uniform in +-1 along each axis, smoothed by --invariance_elastic_sigma, times this (34 with sigma 4, "
    "their MNIST values, moves a central pixel by about 2 pixels); 0: none.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "invariance_elastic_sigma",
    DEFAULT.invariance.elastic_sigma,
    "Smoothing (pixels, a Gaussian's sigma) of the elastic distortion's displacements: smaller is more wrinkled.",
    lower_bound=0.5,
)
flags.DEFINE_integer(
    "invariance_erase",
    DEFAULT.invariance.erase,
    "Side (pixels) of a square blanked in each of the invariance term's copies after the warp, centred anywhere "
    "in the image (Cutout); 0: none.",
    lower_bound=0,
)
flags.DEFINE_integer(
    "invariance_erased_copies",
    DEFAULT.invariance.erased_copies,
    "With --invariance_erase: how many of the --invariance_copies lose a square (the last ones; the others are "
    "warped only); 0: all of them.",
    lower_bound=0,
)
flags.DEFINE_boolean(
    "invariance_deslant",
    DEFAULT.invariance.deslant,
    "Stand each of the invariance term's copies upright first (sheared by its ink's own slant) before the random "
    "changes, so that every slant of a digit is paired with one upright copy.",
)
flags.DEFINE_boolean(
    "invariance_fakes",
    DEFAULT.invariance.fakes,
    "Also read the categorical code through the same transforms of G's images, in both losses.",
)
flags.DEFINE_boolean(
    "invariance_leads",
    DEFAULT.invariance.leads,
    "Q's categorical code learns from the invariance term on real images alone: its L_I trains G and no longer "
    "D and Q.",
)
flags.DEFINE_integer(
    "invariance_leads_from",
    DEFAULT.invariance.leads_from,
    "With --invariance_leads: the update from which the invariance term leads; before it, G's images train Q's "
    "categorical code as without the option.",
    lower_bound=0,
)
flags.DEFINE_integer(
    "invariance_overclusters",
    DEFAULT.invariance.overclusters,
    "Clusters of an auxiliary head on D's body trained by the invariance term (IIC's over-clustering); 0: none.",
    lower_bound=0,
)
flags.DEFINE_integer(
    "invariance_copies",
    DEFAULT.invariance.copies,
    "Transformed copies paired with each real image in the invariance term (IIC's sample repeats).",
    lower_bound=1,
    upper_bound=8,
)
flags.DEFINE_enum(
    "preset",
    None,
    sorted(PRESETS),
    "Named settings beyond the original's (infogan_tf/invariance/presets.py); each flag it sets can still be given.",
)
flags.DEFINE_float("generator_learning_rate", DEFAULT.train.generator_learning_rate, "Adam learning rate of G.")
flags.DEFINE_float(
    "discriminator_learning_rate", DEFAULT.train.discriminator_learning_rate, "Adam learning rate of D and Q."
)
flags.DEFINE_float(
    "leak",
    DEFAULT.model.leak,
    "Leaky ReLU slope in D and Q: 0.01 in the original code, 0.1 in the paper.",
    lower_bound=0.0,
    upper_bound=1.0,
)
flags.DEFINE_enum(
    "layer_kit",
    DEFAULT.model.layer_kit,
    LAYER_KITS,
    "Kernels of the layers: fast (tuned for CPUs), keras (TensorFlow's own, for GPUs), auto (by device). "
    "Same weights either way.",
)
flags.DEFINE_string(
    "root_log_dir", DEFAULT.run.root_log_dir, "Parent of each run's TensorBoard, metrics and image directory."
)
flags.DEFINE_string(
    "root_checkpoint_dir", DEFAULT.run.root_checkpoint_dir, "Parent of each run's checkpoint directory."
)
flags.DEFINE_string("exp_name", DEFAULT.run.exp_name, "Run name; unset: <dataset>_<timestamp>.")
MAX_SEED = 2**32 - 1
flags.DEFINE_integer(
    "seed",
    DEFAULT.run.seed,
    "Seed of weights, latent samples and data order (0 to 2**32 - 1).",
    lower_bound=0,
    upper_bound=MAX_SEED,
)
flags.DEFINE_list("seeds", None, "Several seeds, one run each (named <exp_name>_seed<N>), then a summary over them.")
flags.DEFINE_integer(
    "restarts",
    DEFAULT.restarts.count,
    "Beyond the paper: candidate runs per seed, each trained to --restart_select_at updates; the one with the "
    "highest --restart_criterion trains on (no labels). Candidate r of seed N is the run of seed "
    f"N + {SEED_STRIDE}r. 1: the seed's own run only.",
    lower_bound=1,
    upper_bound=100,
)
flags.DEFINE_integer(
    "restart_select_at",
    DEFAULT.restarts.select_at,
    "The update at which --restarts compares its candidates.",
    lower_bound=1,
)
flags.DEFINE_enum(
    "restart_criterion",
    DEFAULT.restarts.criterion,
    list(CRITERIA),
    "What --restarts chooses by: invariance_mi, the invariance term's I(c; c') as logged (needs "
    "--invariance_coeff > 0); category_entropy, the entropy of how the training images share the first "
    "categorical code's categories (highest when they share them evenly, as the classes of MNIST do).",
)
flags.DEFINE_boolean(
    "evaluate",
    DEFAULT.evaluation.evaluate,
    "Evaluate each run at its end (results.json, results.md, figures in its log dir).",
)
flags.DEFINE_string(
    "baseline",
    DEFAULT.evaluation.baseline,
    "Experiment name of a baseline GAN run (--info_reg_coeff=0 --train_q) to compare with.",
)
flags.DEFINE_string(
    "checkpoint", None, "evaluate.py: a checkpoint directory or path to evaluate instead of --exp_name's."
)
flags.DEFINE_string(
    "classifier_path",
    DEFAULT.evaluation.classifier_path,
    "Cached classifier of the dataset, for sample quality; unset: one per dataset in the cache.",
)
flags.DEFINE_integer(
    "eval_samples",
    DEFAULT.evaluation.eval_samples,
    "Generated samples scored by the classifier (at least 200: the Frechet distance needs more samples than the "
    "classifier's 128 features, and is biased upwards below 10,000).",
    lower_bound=200,
)
flags.DEFINE_float(
    "generator_average",
    DEFAULT.train.generator_average,
    "Beyond the original: decay of a moving average of G's weights kept beside them (e.g. 0.999); sampling, "
    "evaluation and export then use it. It changes no update. 0: none, as in the original.",
)
flags.DEFINE_integer(
    "generator_average_from",
    DEFAULT.train.generator_average_from,
    "With --generator_average: the updates left out of the average at the start; it takes in G after each later "
    "update, the first copied (4000 on the 5,000-update schedule: about the last 1,000). 0: from the first update. "
    "A run that ends before it keeps no average, and is evaluated by its trained weights.",
    lower_bound=0,
)
flags.DEFINE_enum(
    "generator_weights",
    DEFAULT.evaluation.generator_weights,
    GENERATOR_WEIGHTS,
    "Which G evaluation, sampling and export use: the run's moving average of G's weights (--generator_average) "
    "where it kept one, else the trained weights; or always the trained weights.",
)
flags.DEFINE_integer(
    "snapshot_interval",
    DEFAULT.run.snapshot_interval,
    "Updates between checkpoints (one is also written at the end).",
    lower_bound=1,
)
flags.DEFINE_integer("max_to_keep", DEFAULT.run.max_to_keep, "Checkpoints kept; older ones are deleted.", lower_bound=1)
flags.DEFINE_boolean(
    "train_q",
    DEFAULT.train.train_q,
    "With --info_reg_coeff=0: still train Q (on detached D features) to measure L_I of a plain GAN.",
)
flags.DEFINE_string(
    "resume",
    DEFAULT.run.resume,
    "auto: continue this --exp_name's newest checkpoint if any; latest: require one; never: refuse to reuse "
    "a directory with checkpoints; or a checkpoint directory/path to start from.",
)
flags.DEFINE_boolean(
    "deterministic",
    DEFAULT.train.deterministic,
    "Turn on TF op determinism, so a rerun or a resumed run repeats exactly.",
)
flags.DEFINE_enum(
    "precision",
    DEFAULT.model.precision,
    PRECISIONS,
    "Layer compute dtype; variables, BN statistics and losses stay float32. mixed_float16 adds Keras's dynamic "
    "loss scaling.",
)
flags.DEFINE_boolean("jit_compile", DEFAULT.train.jit_compile, "Compile the train step with XLA.")
flags.DEFINE_enum(
    "strategy",
    DEFAULT.devices.strategy,
    STRATEGIES,
    "tf.distribute strategy: auto (all local GPUs mirrored when there are several, else one device), one_device, "
    "mirrored (local GPUs, or the logical CPUs of --cpu_devices), multi_worker (TF_CONFIG), tpu.",
)
flags.DEFINE_integer(
    "cpu_devices",
    DEFAULT.devices.cpu_devices,
    "Split the host CPU into this many logical devices (to try --strategy=mirrored without GPUs).",
    1,
)
flags.DEFINE_enum(
    "input_pipeline",
    DEFAULT.train.input_pipeline,
    ["auto", "tf_data", "device"],
    "How batches reach the step: tf_data (host pipeline), device (the training set copied to the device once, "
    "batches gathered there), auto (device on one GPU, else tf_data). Same batches either way.",
)
flags.DEFINE_integer(
    "check_interval",
    DEFAULT.train.check_interval,
    "Updates between the host's checks for a non-finite loss (also at every epoch end and save; the first bad "
    "update is named either way); unset: 1, or 100 where a GPU is visible.",
    lower_bound=1,
)
flags.DEFINE_boolean(
    "sync_batch_norm",
    DEFAULT.model.sync_batch_norm,
    "BatchNorm statistics over the global batch (all-reduced), not each replica's rows; one device: no change.",
)
flags.DEFINE_boolean(
    "reuse_fake_batch",
    DEFAULT.train.reuse_fake_batch,
    "G step trains on the D step's latents and images (through the updated D): one G forward pass per update, "
    "not two. The original generated a fresh batch.",
)
flags.DEFINE_enum(
    "lr_batch_scaling",
    DEFAULT.train.lr_batch_scaling,
    sorted(BATCH_SCALING_RULES),
    "Scale both learning rates by (batch_size / 128) ** {none: 0, sqrt: 1/2, linear: 1}, for larger batches.",
)

flags.DEFINE_list(
    "code", ["all"], "sample.py: the regularised codes to sweep, by number or unique family (e.g. 0,categorical)."
)
flags.DEFINE_list("range", ["-2", "2"], "sample.py: low,high of the sweep of a continuous code (training: -1,1).")
flags.DEFINE_integer("steps", 10, "sample.py: values per continuous sweep (columns of a grid, frames of a GIF).", 2)
flags.DEFINE_string(
    "out", None, "sample.py / export.py: output directory; unset: <run's log dir>/samples, exports/<exp_name>."
)
