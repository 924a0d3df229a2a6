"""SVHN, the paper's Section 5.3: four ten-way codes and four continuous codes (Appendix C).

    python launchers/run_svhn_exp.py --data_dir=DIR   # DIR holds train_32x32.mat and test_32x32.mat
    python launchers/run_svhn_exp.py --data_dir=DIR --latent_spec=uniform:124,categorical:10:reg,\
categorical:10:reg,categorical:10:reg,categorical:10:reg,uniform:1:reg:fix_std,uniform:1:reg:fix_std

The main text describes two continuous codes, the appendix four; the appendix's is the
default, the second command uses the main text's (``latent_spec.SVHN_MAIN_TEXT_LATENT_SPEC``).

The network type, latent spec and the MNIST experiment's learning rates, lambda and
schedule are this port's reading of the paper (its tables are images; docs/experiments.md,
"Experiments"); any setting can be overridden with its flag (``--help`` lists them all).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

from infogan_tf.latent_spec import SVHN_LATENT_SPEC  # noqa: E402

SETTINGS = dict(  # the rest are the flags' defaults: the original MNIST launcher's schedule and rates
    dataset="svhn",
    network_type="svhn",
    latent_spec=SVHN_LATENT_SPEC,
    root_log_dir="logs/svhn",
    root_checkpoint_dir="ckt/svhn",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
