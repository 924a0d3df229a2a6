"""Evaluate finished runs (or any checkpoint) against the paper's MNIST numbers.

    python launchers/evaluate.py --exp_name=mnist --seeds=0,1,2 --baseline=gan_seed0
    python launchers/evaluate.py --checkpoint=ckt/mnist/my_run --data_dir=../shared/data/mnist

Writes results.json, results.md and figures into each run's log dir, and a summary over
seeds into <root_log_dir>/<exp_name>_summary.
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch_evaluation  # noqa: E402

SETTINGS = dict(dataset="mnist", root_log_dir="logs/mnist", root_checkpoint_dir="ckt/mnist")


def main() -> None:
    launch_evaluation(SETTINGS)


if __name__ == "__main__":
    main()
