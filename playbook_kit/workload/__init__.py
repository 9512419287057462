"""What a trial trains, besides its data (docs/design.md, *Workload parts*): the model
families (:mod:`.families`) and what the toolkit reads from a user's Keras code
(:mod:`.keras_models`), keras-tuner hypermodels used unchanged (:mod:`.hypermodel`),
losses, metrics and objectives (:mod:`.objectives`), optimizers and schedules
(:mod:`.optimizers`), layers Keras lacks (:mod:`.layers`), a config's fields and their
checks (:mod:`.config_fields`), and the :class:`Workload` that trains configs
(:mod:`.workload`).

The layers import Keras, hence TensorFlow, so :class:`GhostBatchNormalization` loads on
first use, after :func:`playbook_kit.setup`."""
from .config_fields import resolve_config
from .families import build_model, register_model
from .objectives import WorkloadError
from .optimizers import build_optimizer, learning_rate_schedule
from .workload import Workload

__all__ = ["GhostBatchNormalization", "Workload", "WorkloadError", "build_model",
           "build_optimizer", "learning_rate_schedule", "register_model", "resolve_config"]


def __getattr__(name):
    if name == "GhostBatchNormalization":
        from .layers import GhostBatchNormalization

        return GhostBatchNormalization
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
