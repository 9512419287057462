"""What a workload trains on (docs/design.md, *Workload parts*): bundled and generated
datasets, the user's arrays and their fixed seeded splits (:mod:`.arrays`), ``tf.data``
pipelines, ``PyDataset``\\ s and files streamed from disk (:mod:`.streams`), training
batches decoded from files or served from memory (:mod:`.pipelines`), and a dataset
rebuilt from its stored spec (:mod:`.loaders`), so that workers and later sessions
train on the same data. TensorFlow loads only when a pipeline is built."""
from .arrays import Dataset, load_csv, load_digits, load_npz, make_synthetic, split_arrays
from .loaders import load_data
from .pipelines import batches_in_memory, file_pipeline
from .streams import (PipelineDataset, PyDatasetData, from_py_dataset, from_tf_data,
                      stream_csv, stream_images, stream_tfrecord)

__all__ = ["Dataset", "PipelineDataset", "PyDatasetData", "batches_in_memory", "file_pipeline",
           "from_py_dataset", "from_tf_data", "load_csv", "load_data", "load_digits", "load_npz", "make_synthetic",
           "split_arrays", "stream_csv", "stream_images", "stream_tfrecord"]
