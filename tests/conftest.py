import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared offline MNIST copy (or $INFOGAN_DATA_DIR)."""
    path = Path(os.environ.get("INFOGAN_DATA_DIR", SHARED_MNIST))
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no MNIST IDX files at {path}; set INFOGAN_DATA_DIR")
    return path
