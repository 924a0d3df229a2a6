"""Export a trained run's G and Q: a SavedModel (needs only TensorFlow) and .keras files (need only Keras).

python launchers/export.py --exp_name=NAME                     # into exports/NAME
python launchers/export.py --checkpoint=ckt/mnist/NAME-5000 --out=exported
"""

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import launch_export  # noqa: E402

SETTINGS = dict(root_log_dir="logs/mnist", root_checkpoint_dir="ckt/mnist")


def main() -> None:
    launch_export(SETTINGS)


if __name__ == "__main__":
    main()
