"""infogan_tf: a TensorFlow 2 port of InfoGAN (Chen et al., 2016; openai/InfoGAN)."""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) buries the training log;
# set TF_CPP_MIN_LOG_LEVEL yourself to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
