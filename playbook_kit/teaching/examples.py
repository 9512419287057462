"""Small example data written on the fly for the guided notebooks (nothing downloaded)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.validation import check_number


def write_shapes_folder(directory: str | Path, per_class: int = 60, size: int = 16,
                        seed: int = 0) -> dict:
    """An image folder per split (``train``, ``validation``, ``test``; one subfolder per
    class, as ``keras.utils.image_dataset_from_directory`` reads them): noisy grey
    images with a horizontal or a vertical bar. Returns the three split folders.

    Args:
        directory: where to write ``train/``, ``validation/`` and ``test/``.
        per_class: images per class and split.
        size: image height and width in pixels.
        seed: seeds the noise and the bars' positions.

    Returns:
        dict: ``{"train": Path, "validation": Path, "test": Path}``.

    Raises:
        OSError: the folder cannot be written.

    Example::

        folders = pk.write_shapes_folder("shapes", per_class=30)
        data = pk.stream_images(folders["train"], folders["validation"], folders["test"],
                                image_size=(16, 16))
    """
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
    the input-pipeline recipe (``pk.file_pipeline``) without downloading one.

    Args:
        x: the examples (the first axis indexes them).
        directory: where to write ``00000.npy``, ``00001.npy``, ...

    Returns:
        list[Path]: the files, in the order of ``x``.

    Raises:
        OSError: the folder cannot be written.

    Example::

        paths = pk.write_example_files(data.x_train, "files")
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{i:05d}.npy" for i in range(len(x))]
    for path, example in zip(paths, x):
        np.save(path, example)
    return paths


def slow_decoder(delay_s: float):
    """``decode(path)`` that loads a ``.npy`` file after sleeping ``delay_s``: stands in
    for decoding a real file (JPEG, parsing, augmentation) in a Python map.

    Args:
        delay_s: seconds each call sleeps before loading.

    Returns:
        Callable: ``decode(path) -> np.ndarray``, for :func:`file_pipeline`.

    Raises:
        ValueError: ``delay_s`` is not a number >= 0.

    Example::

        decode = pk.slow_decoder(0.5e-3)
        slow = pk.file_pipeline(paths, data.y_train, decode, batch_size=64)
    """
    import time

    delay_s = check_number("delay_s", delay_s, 0, where="slow_decoder")

    def decode(path):
        time.sleep(delay_s)
        return np.load(path)

    return decode
