"""A workload's data from its spec: what a study file's ``data`` or a dataset's stored
``source`` names, loaded again by the loader of that name (so that workers, retraining and
a later session rebuild the same data)."""
from __future__ import annotations

from ..core.validation import not_allowed
from . import arrays as data, streams


LOADERS = {"digits": "load_digits", "synthetic": "make_synthetic", "npz": "load_npz",
           "csv": "load_csv", "csv_stream": "stream_csv", "image_folder": "stream_images",
           "tfrecord": "stream_tfrecord"}
STREAMED = ("csv_stream", "image_folder", "tfrecord")  # loaders in :mod:`.streams`


def load_data(spec: dict):
    """A dataset from its spec (a :attr:`~playbook_kit.data.arrays.Dataset.source`, or a study
    file's ``data``): ``{"name": "digits" | "synthetic" | "npz" | "csv" | "csv_stream" |
    "image_folder" | "tfrecord", <the loader's arguments>}``."""
    import inspect

    if not isinstance(spec, dict):
        raise not_allowed("data", spec, "use a mapping such as {'name': 'digits'}")
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in LOADERS:
        raise not_allowed("data name", name, f"use one of {', '.join(LOADERS)}")
    loader = getattr(streams if name in STREAMED else data, LOADERS[name])
    parameters = inspect.signature(loader).parameters
    takes_split = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    allowed = [p for p in parameters if parameters[p].kind is not inspect.Parameter.VAR_KEYWORD]
    if takes_split and name in STREAMED:
        allowed += ["shuffle_buffer", "eval_batches", "train_sample_size", "batched"]
    elif takes_split:
        allowed += ["seed", "validation_fraction", "test_fraction", "train_sample_size", "task"]
    unknown = [key for key in spec if key not in allowed]
    if unknown:
        raise not_allowed("data field", unknown[0], f"allowed fields for {name!r} are "
                          f"{', '.join(allowed)}")
    missing = [p for p, v in parameters.items()
               if v.default is inspect.Parameter.empty and v.kind is not v.VAR_KEYWORD
               and p not in spec]
    if missing:
        raise ValueError(f"data field {missing[0]!r} is required for {name!r}")
    return loader(**spec)
