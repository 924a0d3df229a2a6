"""dSprites: a 3-way code for the shape and four continuous codes for scale, orientation and position.

    python launchers/run_dsprites_exp.py --data_dir=DIR_WITH_THE_DSPRITES_NPZ

Not in the paper; its factors are known, so the evaluation adds the mutual-information
gap (MIG) of Q's codes on 10,000 held-out images. The network is the mnist network with a
third stage for 64x64 images (``networks.conv64_networks``); the learning rates, lambda
and schedule are the MNIST experiment's, not tuned here.
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch  # noqa: E402

SETTINGS = dict(  # the rest are the flags' defaults: the original MNIST launcher's schedule and rates
    dataset="dsprites",
    network_type="conv64",
    latent_spec="uniform:62,categorical:3:reg," + ",".join(["uniform:1:reg:fix_std"] * 4),
    root_log_dir="logs/dsprites",
    root_checkpoint_dir="ckt/dsprites",
)


def main() -> None:
    launch(SETTINGS)


if __name__ == "__main__":
    main()
