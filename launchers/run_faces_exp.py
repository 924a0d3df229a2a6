"""3D faces, the paper's Section 5.4: five continuous codes (pose, elevation, lighting, width...), 64x64 grey.

    python launchers/run_faces_exp.py --data_dir=FOLDER_OF_RENDERINGS (or a folder holding images.npz)

The network type, latent spec and the MNIST experiment's learning rates, lambda and
schedule are this port's reading of the paper (its tables are images; README,
"Experiments"); any setting can be overridden with its flag (``--help`` lists them all).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf.experiment import launch  # noqa: E402
from infogan_tf.latent_spec import FACES_LATENT_SPEC  # noqa: E402

SETTINGS = dict(
    dataset="faces",
    network_type="conv64",
    latent_spec=FACES_LATENT_SPEC,
    batch_size=128,
    updates_per_epoch=100,
    max_epoch=50,
    info_reg_coeff=1.0,
    generator_learning_rate=1e-3,
    discriminator_learning_rate=2e-4,
    root_log_dir="logs/faces",
    root_checkpoint_dir="ckt/faces",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
