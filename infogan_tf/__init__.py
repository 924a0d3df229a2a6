"""infogan_tf: a TensorFlow 2 port of InfoGAN (Chen et al., 2016; openai/InfoGAN).

``infogan_tf.load(checkpoint_dir)`` gives a trained generator and Q for sampling. It is
imported on first use, so importing a lower module (``infogan_tf.distributions``) loads
neither Keras models nor checkpoints.
"""

from __future__ import annotations

__all__ = ["LoadedModel", "load"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in __all__:
        from infogan_tf import checkpoints

        return getattr(checkpoints, name)
    raise AttributeError(f"module 'infogan_tf' has no attribute {name!r}")
