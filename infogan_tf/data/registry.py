"""The registry of datasets by name (``--dataset``); each dataset module registers itself."""

from __future__ import annotations

from collections.abc import Callable

from infogan_tf.data.base import ImageDataset

DATASETS: dict[str, Callable[[str | None], ImageDataset]] = {}


def register_dataset(cls: type[ImageDataset]) -> type[ImageDataset]:
    """Make ``cls`` available as ``--dataset=<cls.name>``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name to be registered")
    DATASETS[cls.name] = cls
    return cls
