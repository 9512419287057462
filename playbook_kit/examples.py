"""Small example data written on the fly for the guided notebooks (nothing downloaded)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_shapes_folder(directory: str | Path, per_class: int = 60, size: int = 16,
                        seed: int = 0) -> dict:
    """An image folder per split (``train``, ``validation``, ``test``; one subfolder per
    class, as ``keras.utils.image_dataset_from_directory`` reads them): noisy grey
    images with a horizontal or a vertical bar. Returns the three split folders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    directory = Path(directory)
    splits = {"train": per_class, "validation": per_class // 3, "test": per_class // 3}
    for split, n in splits.items():
        for label in ("horizontal", "vertical"):
            folder = directory / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                image = rng.normal(60, 25, (size, size))
                row = rng.integers(2, size - 2)
                if label == "horizontal":
                    image[row - 1:row + 1, :] += 120
                else:
                    image[:, row - 1:row + 1] += 120
                pixels = np.clip(image, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).convert("RGB").save(folder / f"{i:04d}.png")
    return {split: directory / split for split in splits}


def write_example_files(x, directory: str | Path) -> list[Path]:
    """One ``.npy`` file per example of ``x`` in ``directory``: a file-backed dataset for
    the input-pipeline recipe (``pk.file_pipeline``) without downloading one."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{i:05d}.npy" for i in range(len(x))]
    for path, example in zip(paths, x):
        np.save(path, example)
    return paths


def slow_decoder(delay_s: float):
    """``decode(path)`` that loads a ``.npy`` file after sleeping ``delay_s``: stands in
    for decoding a real file (JPEG, parsing, augmentation) in a Python map."""
    import time

    def decode(path):
        time.sleep(delay_s)
        return np.load(path)

    return decode
