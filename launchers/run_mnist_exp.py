"""The original's MNIST experiment: 10-way categorical code and two continuous codes.

    python launchers/run_mnist_exp.py --data_dir=../shared/data/mnist

Any setting below can be overridden with its flag (``--help`` lists them all).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

from infogan_tf.latent_spec import MNIST_LATENT_SPEC  # noqa: E402

SETTINGS = dict(
    dataset="mnist",
    network_type="mnist",
    latent_spec=MNIST_LATENT_SPEC,
    batch_size=128,
    updates_per_epoch=100,
    max_epoch=50,
    info_reg_coeff=1.0,
    generator_learning_rate=1e-3,
    discriminator_learning_rate=2e-4,
    root_log_dir="logs/mnist",
    root_checkpoint_dir="ckt/mnist",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
