"""3D chairs, the paper's Section 5.4: three twenty-way codes and one continuous code, 64x64 grey.

    python launchers/run_chairs_exp.py --data_dir=FOLDER_OF_RENDERINGS (or a folder holding images.npz)

The network type, latent spec and the MNIST experiment's learning rates, lambda and
schedule are this port's reading of the paper (its tables are images; docs/experiments.md,
"Experiments"); any setting can be overridden with its flag (``--help`` lists them all).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

from infogan_tf.latent_spec import CHAIRS_LATENT_SPEC  # noqa: E402

SETTINGS = dict(  # the rest are the flags' defaults: the original MNIST launcher's schedule and rates
    dataset="chairs",
    network_type="conv64",
    latent_spec=CHAIRS_LATENT_SPEC,
    root_log_dir="logs/chairs",
    root_checkpoint_dir="ckt/chairs",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
