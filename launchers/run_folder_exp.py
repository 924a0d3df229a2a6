"""InfoGAN on your own images: a folder of them, an .npz of them, or a tensorflow-datasets name.

    python launchers/run_folder_exp.py --data_dir=DIR                       # every image below DIR
    python launchers/run_folder_exp.py --dataset=npz --data_dir=FILE.npz    # arrays 'images' (and 'labels')
    python launchers/run_folder_exp.py --dataset=tfds:NAME --tfds_data_dir=DIR

The network follows the image size (28: the MNIST network, 32: SVHN/CelebA's, 64: conv64)
and the value range the channels; one sub-folder per class gives labels, against which the
categorical code is scored. The latent spec is MNIST's until ``--latent_spec`` says otherwise:
choose the categorical code's size by the classes you expect (docs/own_images.md).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

from infogan_tf.latent_spec import MNIST_LATENT_SPEC  # noqa: E402

SETTINGS = dict(  # the rest are the flags' defaults: the original MNIST launcher's schedule and rates
    dataset="folder",
    network_type="auto",
    latent_spec=MNIST_LATENT_SPEC,
    root_log_dir="logs/folder",
    root_checkpoint_dir="ckt/folder",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
