"""Two engines, one trial record: which one trains a trial, and why.

* ``compiled``: the toolkit's compiled step loop (:mod:`playbook_kit.training.programs`), fast:
  chunks of steps inside one ``tf.function``, programs reused across same-shaped trials.
  It trains exactly what it accepts: a model of the toolkit's families, a user's model
  with the workload's loss, or a model trained through its Keras compile
  (:mod:`playbook_kit.training.keras_steps`), built lazily or not, with sample and class weights,
  several outputs, mixed precision, integer and string features, batched pipelines.
* ``fit``: Keras' own ``model.fit`` in chunks of ``eval_every`` steps
  (:mod:`playbook_kit.training.fit_engine`), for user code the compiled loop does not run as
  written: an overridden ``train_step`` or ``test_step``, a ``HyperModel.fit``, a
  ``keras.utils.PyDataset``, a model compiled with ``run_eagerly=True``.

:func:`choose_engine` picks per trial from the built model and the data (``engine="auto"``)
and says why; ``Workload(engine="fit")`` forces Keras' engine for any model, and
``engine="compiled"`` on a model it cannot train exactly is refused before training,
naming the reason. The trial record, the study table and the audit show which engine ran
and why.
"""
from __future__ import annotations

from ..workload.objectives import WorkloadError

COMPILED, FIT = "compiled", "fit"


def fit_reasons(workload, model, data) -> list[str]:
    """Why the compiled loop would not train this model as written (empty: it can)."""
    import keras

    reasons = []
    for method in ("train_step", "test_step"):
        if getattr(type(model), method) is not getattr(keras.Model, method):
            reasons.append(f"the model overrides {method}")
    if getattr(workload.builder, "overrides_fit", False):
        reasons.append("the hypermodel's fit() trains the model")
    if getattr(data, "keras_dataset", None) is not None:
        reasons.append(f"the data is a {type(data.keras_dataset).__name__} "
                       "(keras.utils.PyDataset)")
    if getattr(model, "compiled", False) and model.run_eagerly:
        reasons.append("the model is compiled with run_eagerly=True")
    return reasons


def choose_engine(workload, model, data) -> tuple[str, str]:
    """``(engine, reason)`` for a trial of ``model`` (see the module)."""
    reasons = fit_reasons(workload, model, data)
    if workload.engine == FIT:
        return FIT, "fit: forced (engine='fit')"
    if workload.engine == COMPILED:
        if reasons:
            raise WorkloadError(f"{reasons[0]}: the fit engine runs it; engine='compiled' "
                                "cannot (use engine='auto' or 'fit')")
        return COMPILED, "compiled: forced (engine='compiled')"
    if reasons:
        return FIT, "fit: " + "; ".join(reasons)
    return COMPILED, "compiled: the step loop trains this model exactly"
