"""Sweep a trained run's codes: a PNG grid and an animated GIF per regularised code.

python launchers/sample.py --exp_name=NAME                      # every code, into logs/mnist/NAME/samples
python launchers/sample.py --checkpoint=ckt/mnist/NAME --code=categorical --out=figs
python launchers/sample.py --exp_name=NAME --code=1 --range=-2,2 --steps=15 --seed=3
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch_sampling  # noqa: E402

SETTINGS = dict(root_log_dir="logs/mnist", root_checkpoint_dir="ckt/mnist")


def main() -> None:
    launch_sampling(SETTINGS)


if __name__ == "__main__":
    main()
