"""CelebA, the paper's Section 5.4: ten ten-way codes on 32x32 colour faces.

    python launchers/run_celeba_exp.py --data_dir=.../img_align_celeba

The network type, latent spec and the MNIST experiment's learning rates, lambda and
schedule are this port's reading of the paper (its tables are images; docs/experiments.md,
"Experiments"); any setting can be overridden with its flag (``--help`` lists them all).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

from infogan_tf.latent_spec import CELEBA_LATENT_SPEC  # noqa: E402

SETTINGS = dict(  # the rest are the flags' defaults: the original MNIST launcher's schedule and rates
    dataset="celeba",
    network_type="svhn",
    latent_spec=CELEBA_LATENT_SPEC,
    root_log_dir="logs/celeba",
    root_checkpoint_dir="ckt/celeba",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
