"""What TensorFlow keeps of a dropped program, let go, so that a study's memory stays flat.

A dropped compiled program (pushed out of the cache, built with reuse off or for several
devices) and a fit-engine trial's model are freed whole, so a study's memory stays flat
whatever its trials' architectures. TensorFlow alone would keep two things of each, about
3.2 MiB per traced train loop for the digits MLP (measured here: 160 trials cycling through
40 widths grew 814 to 1,272 MiB, ``gc.collect`` or not), which
:func:`release_dropped_graphs` and :func:`release_stale_kernels` let go (the trainer calls
them at each trial's start):

* the traced graph, through TensorFlow's gradient registry. Keras' optimizer sums the
  gradients over the replicas even without a distribution strategy
  (``replica_context.all_reduce``), which wraps them in a ``tf.custom_gradient``; in a
  graph that registers a gradient function under a new name (``CustomGradient-<n>``), in
  a process-wide registry that is never emptied, and the function holds the graph's
  tensors, hence the whole graph, its nested loop graphs and the variables (tensorflow
  issues 27492, 97697; ``keras.backend.clear_session`` does not empty it either);
* the compiled kernels of its functions, in TensorFlow's kernel cache, which seeding
  keeps for the programs still in use (:func:`~playbook_kit.core.runtime.seed_everything`).

Once those are freed, the C heap gives their pages back to the system (glibc's
``malloc_trim``, 1.3 to 1.9 ms after a fit-engine trial here) instead of keeping them as free
space the process still holds. What still grows over never-repeating architectures is oneDNN's:
TensorFlow's oneDNN kernels cache the primitives they build for each new shape in
thread-local caches of a fixed capacity, which nothing outside TensorFlow can empty, so
growth slows as they fill (``bench/memory.py`` prints it beside the same run with oneDNN
off).
"""
from __future__ import annotations

import ctypes
import functools
import weakref

_FUNCTIONS: set = set()
"""The compiled functions TensorFlow held at the last :func:`release_stale_kernels`."""


class _GraphOwnedGradient:
    """A custom gradient's entry in TensorFlow's gradient registry that does not keep its
    graph alive: it calls the registered function through a weak reference, and the
    graphs the function belongs to hold it (see :func:`release_dropped_graphs`)."""

    __slots__ = ("function", "__weakref__")

    def __init__(self, function):
        self.function = weakref.ref(function)

    def __call__(self, op, *grads):
        function = self.function()
        if function is None:  # its graph is gone, so no op of it can be differentiated
            raise LookupError(f"the custom gradient of op {op.name!r} was released with "
                              "its graph")
        return function(op, *grads)


def release_dropped_graphs() -> None:
    """Make every custom gradient that TensorFlow registered while tracing belong to the
    graphs it was traced in, so that a dropped program's graphs are freed with it.

    TensorFlow registers a graph's ``tf.custom_gradient`` functions (Keras' optimizer
    makes one in every traced train step) by name in a process-wide registry that keeps
    them, and through them their graphs, forever. Here each such entry's
    function is held by its graph and by the graphs enclosing it instead, and the registry
    calls it through a weak reference: a live graph differentiates as before, a dropped
    one is collected with its function, and its entry is removed at the next call. An
    entry whose function holds no graph (a later TensorFlow may stop capturing it) is
    left as it is."""
    from tensorflow.python.framework import ops

    registry = ops._gradient_registry._registry  # noqa: SLF001 (no public interface)
    for name, entry in list(registry.items()):
        function = entry.get("type")
        if isinstance(function, _GraphOwnedGradient):
            if function.function() is None:
                del registry[name]
            continue
        if not name.startswith("CustomGradient-"):
            continue
        graphs = _enclosing_graphs(_graph_held_by(function))
        if not graphs:
            continue
        for graph in graphs:
            held = getattr(graph, "_playbook_kit_gradients", None)
            if held is None:
                held = graph._playbook_kit_gradients = []
            held.append(function)
        entry["type"] = _GraphOwnedGradient(function)


def _graph_held_by(value, depth: int = 0, seen: set | None = None):
    """The first TensorFlow graph that ``value`` holds: a tensor's, among the cells of a
    function's closure (and of the functions and sequences in them), a few levels deep."""
    import tensorflow as tf

    seen = set() if seen is None else seen
    if depth > 4 or id(value) in seen:
        return None
    seen.add(id(value))
    if isinstance(value, tf.Graph):
        return value
    if isinstance(value, (list, tuple)):
        inner = value
    elif callable(value):
        inner = [cell.cell_contents for cell in getattr(value, "__closure__", None) or ()
                 if not _empty_cell(cell)]
    else:
        try:
            graph = getattr(value, "graph", None)
        except Exception:  # noqa: BLE001 - an eager tensor's graph raises
            return None
        return graph if isinstance(graph, tf.Graph) else None
    for item in inner:
        graph = _graph_held_by(item, depth + 1, seen)
        if graph is not None:
            return graph
    return None


def _empty_cell(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return True
    return False


def _enclosing_graphs(graph) -> list:
    """``graph`` and the function graphs it was traced inside (a loop body's graph sits
    in its function's), up to the outermost function graph."""
    graphs = []
    while graph is not None and graph not in graphs:
        graphs.append(graph)
        outer = getattr(graph, "outer_graph", None)
        graph = outer if getattr(outer, "building_function", False) else None
    return graphs


def release_stale_kernels() -> None:
    """Clear TensorFlow's kernel cache when compiled functions were freed since the last
    call (a dropped program's, a fit-engine model's): their kernels stay cached otherwise,
    about 0.45 MiB per digits-MLP program. The programs still cached instantiate their
    functions again at their next call (about 0.12 s each), so a study of a few shapes,
    which frees none, never pays it."""
    from tensorflow.python.eager import context

    names = set(context.context().list_function_names())
    if _FUNCTIONS - names:
        context.context().clear_kernel_cache()
        _trim_heap()
    _FUNCTIONS.clear()
    _FUNCTIONS.update(names)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
