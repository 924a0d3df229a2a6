"""Fashion-MNIST: ten kinds of clothing in MNIST's format, with MNIST's splits; not in the paper."""

from __future__ import annotations

from infogan_tf.data.idx import IdxDataset
from infogan_tf.data.registry import register_dataset


@register_dataset
class FashionMnistDataset(IdxDataset):
    """Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): ten kinds of clothing in MNIST's format; not in the paper."""

    name = "fashion_mnist"
    title = "Fashion-MNIST"
    tfds_name = "fashion_mnist"
    data_dir_env = "INFOGAN_FASHION_MNIST_DIR"
    label_names = (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
    )  # fmt: skip
