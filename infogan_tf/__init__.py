"""infogan_tf: a TensorFlow 2 port of InfoGAN (Chen et al., 2016; openai/InfoGAN).

``infogan_tf.load(checkpoint_dir)`` gives a trained generator and Q for sampling.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) buries the training log;
# set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from infogan_tf.checkpoints import LoadedModel, load  # noqa: E402

__all__ = ["LoadedModel", "load"]
__version__ = "0.1.0"
