"""Fashion-MNIST with the original MNIST experiment's settings: does a 10-way code find the ten kinds of clothing?

    python launchers/run_fashion_mnist_exp.py --data_dir=../shared/data/fashion_mnist

Not in the paper. The same network, latent spec (a 10-way categorical code and two
continuous codes), schedule and learning rates as ``run_mnist_exp.py``; any of them can be
overridden with its flag (``--help`` lists them all).
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

from infogan_tf.latent_spec import MNIST_LATENT_SPEC  # noqa: E402

SETTINGS = dict(  # the rest are the flags' defaults: the original MNIST launcher's schedule and rates
    dataset="fashion_mnist",
    network_type="mnist",
    latent_spec=MNIST_LATENT_SPEC,
    root_log_dir="logs/fashion_mnist",
    root_checkpoint_dir="ckt/fashion_mnist",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
