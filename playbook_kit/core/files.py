"""File writing that a kill cannot tear (docs/design.md, *Core*: imports nothing from the
package).

The one atomic write of the package: the store writes study files through it (and
re-exports it), the trainer its checkpoints, the journal its chain; a running trial's
resumable state is a folder written the same way (:func:`atomic_directory`); the JSON
they write turns NumPy scalars into numbers one way (:func:`json_number`).
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_directory", "atomic_write", "json_number"]


@contextlib.contextmanager
def atomic_write(path: str | Path, suffix: str = "", before_replace=None):
    """Yield a temporary path beside ``path``; when the block ends normally, flush it to
    disk and rename it over ``path`` (a kill leaves the old file or the new one). On an
    exception the temporary file is removed and ``path`` is untouched.

    ``suffix`` ends the temporary name for writers that check it (Keras wants
    ``.weights.h5``). ``before_replace(tmp)``, called after the flush and just before the
    rename, may raise to cancel the write (the journal checks that no other writer
    changed the file meanwhile). The file keeps ``path``'s permissions when it exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace(tmp)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the OS allows
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_directory(path: str | Path):
    """Yield a temporary folder beside ``path``; when the block ends normally, flush every
    file in it to disk and rename it to ``path`` (a kill leaves no folder at ``path`` or a
    whole one). On an exception the temporary folder is removed."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    tmp.mkdir()
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                fd = os.open(child, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def json_number(value):
    """``json.dumps``' ``default`` for the files the package writes: a NumPy scalar
    (anything with ``.item()``) as the Python number of the same value (a float32 becomes
    the double of the same value: exact); TypeError for anything else."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
