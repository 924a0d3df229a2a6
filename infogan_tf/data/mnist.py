"""MNIST (LeCun et al.), the paper's first experiment."""

from __future__ import annotations

from infogan_tf.data.idx import IdxDataset
from infogan_tf.data.registry import register_dataset


@register_dataset
class MnistDataset(IdxDataset):
    """MNIST (LeCun et al.), the paper's first experiment."""

    name = "mnist"
