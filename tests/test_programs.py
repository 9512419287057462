"""Compiled-program reuse: a trial's curves do not depend on what ran before it or on
whether its program was cached; same-shaped trials trace once; values fed to a reused
program take effect; memory stays flat over many trials of several shapes.

Equality is exact (bit for bit): a reused program runs the same graph on the same
starting variables as a new one."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playbook_kit.training import graph_release

STEPS = 40
BASE = {"learning_rate": 3.0e-3, "beta1": 0.85, "dropout": 0.1, "l2": 1.0e-4, "width": 32}


@pytest.fixture
def programs(pk):
    from playbook_kit.training import programs

    programs.clear()
    programs.set_reuse(True)
    programs._STATE["built"] = 0
    yield programs
    programs.set_reuse(True)


def train(pk, workload, config, seed=0, steps=STEPS):
    result = pk.train_trial(workload, config, seed=seed, max_train_steps=steps,
                            eval_every=min(20, steps))
    assert result.status == "completed"
    return result


def values(result) -> np.ndarray:
    return result.curves["value"].to_numpy()


def test_a_trial_gives_the_same_curves_whatever_ran_before_it(pk, digits_workload, programs):
    first = train(pk, digits_workload, BASE)
    built = programs.programs_built()
    train(pk, digits_workload, {**BASE, "learning_rate": 1.0e-2, "beta1": 0.9, "dropout": 0.3,
                                "l2": 1.0e-2, "beta2": 0.99, "epsilon": 1.0e-3})
    after_same_shape = train(pk, digits_workload, BASE)
    assert programs.programs_built() == built  # both reused the first trial's program
    train(pk, digits_workload, {**BASE, "width": 16})
    after_other_shape = train(pk, digits_workload, BASE)
    assert programs.programs_built() == built + 1
    programs.set_reuse(False)
    without_reuse = train(pk, digits_workload, BASE)
    assert programs.programs_built() == built + 2
    for other in (after_same_shape, after_other_shape, without_reuse):
        assert other.curves.equals(first.curves)
        assert other.objective == first.objective and other.best_step == first.best_step


def test_a_trial_in_a_fresh_process_gives_the_same_curves(pk, digits_workload, programs):
    train(pk, digits_workload, {**BASE, "learning_rate": 1.0e-2})
    here = train(pk, digits_workload, BASE)
    script = ("import json, playbook_kit as pk; pk.setup(seed=0); "
              "w = pk.Workload(pk.load_digits(seed=0), defaults={'width': 32, "
              "'learning_rate': 3.0e-3}); "
              f"r = pk.train_trial(w, {BASE!r}, seed=0, max_train_steps={STEPS}, eval_every=20); "
              "print(json.dumps(r.curves['value'].tolist()))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "PYTHONHASHSEED": "0",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=300, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == values(here).tolist()


def test_same_shaped_trials_trace_once(pk, digits_workload, programs):
    configs = [{**BASE, "learning_rate": lr, "beta2": b2, "warmup_steps": w, "schedule": s}
               for lr, b2, w, s in ((1.0e-3, 0.999, 0, "constant"), (3.0e-3, 0.99, 10, "linear"),
                                    (1.0e-2, 0.95, 5, "cosine"), (2.0e-3, 0.9, 0, "linear"))]
    results = [train(pk, digits_workload, c, seed=i) for i, c in enumerate(configs)]
    assert programs.programs_built() == 1
    (program,) = programs._STATE["cache"].values()
    assert program._loop.experimental_get_tracing_count() == 1
    assert program.evaluate.experimental_get_tracing_count() == 1  # both splits: one shape
    assert len({tuple(values(r)) for r in results}) == 4


def test_the_cache_keeps_at_most_cache_size_programs(pk, digits_workload, programs):
    widths = list(range(8, 8 + 2 * (programs.CACHE_SIZE + 2), 2))
    for width in widths:
        train(pk, digits_workload, {"width": width}, steps=2)
    assert programs.programs_built() == len(widths)
    assert len(programs._STATE["cache"]) == programs.CACHE_SIZE
    train(pk, digits_workload, {"width": widths[-1]}, steps=2)  # most recent: still cached
    train(pk, digits_workload, {"width": widths[0]}, steps=2)  # dropped: built again
    assert programs.programs_built() == len(widths) + 1


@pytest.mark.parametrize("field, low, high, extra", [
    ("dropout", 0.1, 0.4, {}),
    ("l2", 1.0e-4, 3.0e-2, {}),
    ("beta1", 0.5, 0.95, {}),
    ("beta2", 0.9, 0.999, {}),
    ("epsilon", 1.0e-7, 1.0e-1, {}),
    ("clip_norm", 0.3, 3.0, {}),
    ("momentum", 0.5, 0.95, {"optimizer": "nesterov", "learning_rate": 0.05}),
    ("weight_decay", 0.0, 3.0, {"optimizer": "adamw", "learning_rate": 1.0e-2}),
    ("decay_factor", 0.0, 1.0, {"schedule": "linear"}),
    ("warmup_steps", 0, 20, {}),
])
def test_values_fed_to_a_reused_program_take_effect(pk, digits_workload, programs, field, low,
                                                    high, extra):
    low_config, high_config = {**BASE, **extra, field: low}, {**BASE, **extra, field: high}
    low_run = train(pk, digits_workload, low_config)
    high_run = train(pk, digits_workload, high_config)
    assert programs.programs_built() == 1
    loss = lambda r: r.curve("validation", "loss").to_numpy()
    assert np.abs(loss(low_run) - loss(high_run)).max() > 1e-4
    programs.set_reuse(False)
    assert values(train(pk, digits_workload, low_config)).tolist() == values(low_run).tolist()
    assert values(train(pk, digits_workload, high_config)).tolist() == values(high_run).tolist()


def test_a_user_model_reuses_only_when_its_config_matches(pk, digits, programs):
    import keras

    def build(config):
        return keras.Sequential([keras.Input(digits.input_shape), keras.layers.Flatten(),
                                 keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dropout(config["dropout"]),
                                 keras.layers.Dense(10)])

    workload = pk.Workload(digits, model=build)
    train(pk, workload, {"dropout": 0.2, "learning_rate": 1.0e-3}, steps=20)
    train(pk, workload, {"dropout": 0.2, "learning_rate": 3.0e-3}, steps=20)
    assert programs.programs_built() == 1
    train(pk, workload, {"dropout": 0.3, "learning_rate": 3.0e-3}, steps=20)
    assert programs.programs_built() == 2  # a user's dropout rate is structural


def _rss_mib(trimmed: bool = False) -> float:
    """The process's resident memory; ``trimmed``: after glibc's ``malloc_trim`` hands
    freed memory back to the system, so that the figure follows what is alive rather than
    the allocator's high-water mark (where glibc is the C library)."""
    if trimmed:
        import ctypes
        import ctypes.util

        try:
            ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
        except (OSError, AttributeError):
            pass
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _live_graphs() -> int:
    """Traced graphs alive in the process, after a full collection."""
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(isinstance(o, FuncGraph) for o in gc.get_objects())


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("engine", ["compiled", "fit"])
def test_memory_stays_flat_whatever_the_architectures(pk, digits, programs, engine):
    """30 short trials of 30 architectures (width and depth), each a new program (the
    cache's worst case) or, on the fit engine, a new model that Keras traces: from trial
    10 to trial 30 no traced graph may stay behind, and the process may not grow by more
    than 20 MiB (1 MiB a trial). Before dropped programs were released (see
    ``programs``), each trial left its graphs (4 to 5 more alive per trial) and 3.2 MiB
    here (64 MiB over these 20); now no graph, and at most 0.5 MiB a trial, the first
    allocations of a young process (with kernels fused, oneDNN's JIT code for each new
    shape came on top: up to 19 MiB over these 20 on the compiled engine).
    ``bench/memory.py --full`` measures trial 40 against trial 400."""
    workload = pk.Workload(digits, defaults={"width": 32, "learning_rate": 3.0e-3},
                           **({"engine": "fit"} if engine == "fit" else {}))
    graphs, memory = [], []
    for i in range(30):
        result = train(pk, workload, {"width": 8 + i, "depth": 1 + i % 3}, seed=i, steps=4)
        assert result.engine == engine
        if i + 1 in (10, 30):
            graphs.append(_live_graphs())
            memory.append(_rss_mib(trimmed=True))
    assert graphs[1] <= graphs[0], graphs
    assert memory[1] - memory[0] <= 20.0, memory
    if engine == "compiled":
        assert len(programs._STATE["cache"]) == programs.CACHE_SIZE


def test_the_package_trains_in_one_place():
    """One train loop per device count (programs.py; distribute.py over several
    devices) and one for packed trials (packed.py), compiled functions only there and in
    the evaluation of a compiled model
    (keras_steps.py), ``model.fit`` only in the fit engine (and a keras-tuner
    ``HyperModel.fit`` run once with a recording model to find its hyperparameters), no
    other gradient loop, and ``clear_session`` only on the trainer's no-reuse path."""
    root = Path(__file__).parents[1] / "playbook_kit"
    found: dict = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        for needle in ("GradientTape", "apply_gradients", ".fit(", "train_on_batch",
                       "clear_session(", "@tf.function"):
            if needle in text:
                found.setdefault(needle, []).append(path.relative_to(root).as_posix())
    loops = ["training/distribute.py", "training/programs.py"]
    assert found == {"GradientTape": [*loops[:1], "training/packed.py", *loops[1:]],
                     "apply_gradients": loops,
                     ".fit(": ["search/bayesian.py",  # scikit-learn's Gaussian processes
                               "training/fit_engine.py", "workload/hypermodel.py"],
                     "clear_session(": ["training/programs.py", "training/trainer.py"],
                     "@tf.function": ["training/distribute.py", "training/keras_steps.py",
                                      "training/packed.py", "training/programs.py"]}


def test_every_recipe_and_study_trains_through_the_program_cache(pk, digits_workload,
                                                                 programs, tmp_path):
    """Each path's trials of one shape share one program: training length, instability
    probe, warmup sweep, a study and its retrain."""
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-2, scale="log")
    paths = {
        "training length": lambda: pk.initial_training_length(
            digits_workload, learning_rates=[1.0e-3, 3.0e-3, 1.0e-2], max_train_steps=20,
            eval_every=10, target_accuracy=0.5),
        "instability probe": lambda: pk.instability_probe(
            digits_workload, learning_rates=[1.0e-3, 3.0e-3, 1.0e-2], steps=6, eval_every=3),
        "warmup sweep": lambda: pk.warmup_sweep(
            digits_workload, unstable_base_learning_rate=0.5, warmup_steps=[2, 4, 8],
            constant_steps=4, eval_every=4, stop_at_first_stable=False),
        "study": lambda: pk.run_study(
            digits_workload, space, max_trials=3, max_train_steps=10, eval_every=5,
            repeats=2, directory=tmp_path, name="s", progress=False),
        "retrain": lambda: pk.retrain(pk.load_study(tmp_path / "s"), "0", seeds=2,
                                      workload=digits_workload, progress=False),
    }
    built = {}
    for name, run in paths.items():
        programs.clear()
        before = programs.programs_built()
        run()
        built[name] = programs.programs_built() - before
    assert built == {name: 1 for name in paths}


@pytest.fixture
def kernel_resets(monkeypatch):
    """Counts the clearings of TensorFlow's kernel cache (``tf.random.set_seed`` does one)."""
    from tensorflow.python.eager import context

    count = [0]
    clear = context.pywrap_tfe.TFE_ContextClearCaches

    def counted(handle):
        count[0] += 1
        clear(handle)

    monkeypatch.setattr(context.pywrap_tfe, "TFE_ContextClearCaches", counted)
    return count


def _settle(programs) -> None:
    """Collect what earlier tests dropped and clear their kernels, as a trial's start would."""
    import gc

    gc.collect()
    graph_release.release_dropped_graphs()
    gc.collect()
    graph_release.release_stale_kernels()


def test_a_reused_program_keeps_its_compiled_kernels(pk, digits_workload, programs,
                                                     kernel_resets):
    train(pk, digits_workload, BASE)
    _settle(programs)
    kernel_resets[0] = 0
    train(pk, digits_workload, {**BASE, "learning_rate": 1.0e-2})
    train(pk, digits_workload, {**BASE, "learning_rate": 3.0e-2})
    assert programs.programs_built() == 1 and kernel_resets[0] == 0
    programs.set_reuse(False)
    train(pk, digits_workload, BASE)
    assert kernel_resets[0] >= 1


def _stateful_models(digits):
    """Two user models with TensorFlow's stateful random ops: one in a layer's call
    (compiled into the program), one run eagerly by the builder."""
    import keras
    import tensorflow as tf

    class Noise(keras.layers.Layer):
        def call(self, x, training=False):
            return x + 0.1 * tf.random.uniform(tf.shape(x), seed=3) if training else x

    def in_call(config):
        return keras.Sequential([keras.Input(digits.input_shape), keras.layers.Flatten(),
                                 Noise(), keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dense(10)])

    def in_builder(config):
        model = keras.Sequential([keras.Input(digits.input_shape), keras.layers.Flatten(),
                                  keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(10)])
        kernel = model.layers[-1].kernel
        kernel.assign(0.1 * tf.random.normal(kernel.shape, seed=5))
        return model

    return {"in_call": in_call, "in_builder": in_builder}


def test_a_dropped_program_is_freed_with_its_kernels(pk, digits_workload, programs,
                                                     kernel_resets):
    """A program dropped from the cache leaves no traced graph behind, and TensorFlow's
    kernel cache is cleared once after its functions are freed (not again while nothing
    else is dropped)."""
    import weakref

    from tensorflow.python.framework import ops

    before = set(ops._gradient_registry._registry)
    train(pk, digits_workload, {"width": 12}, steps=2)
    (program,) = programs._STATE["cache"].values()
    graphs = [weakref.ref(concrete.graph) for function in program._compiled
              for concrete in function._list_all_concrete_functions()]
    registered = set(ops._gradient_registry._registry) - before
    assert registered  # Keras' optimizer registered its custom gradient while tracing
    del program
    _settle(programs)
    kernel_resets[0] = 0
    programs.clear()
    _settle(programs)
    assert [graph() for graph in graphs] == [None] * len(graphs)
    assert kernel_resets[0] == 1
    _settle(programs)
    assert kernel_resets[0] == 1
    left = set(ops._gradient_registry._registry) & registered
    assert not left, sorted(left)[:3]  # their entries went with their graphs


@pytest.mark.parametrize("where", ["in_call", "in_builder"])
def test_stateful_random_ops_give_the_same_curves_whatever_ran_before(pk, digits, programs,
                                                                      kernel_resets, where):
    workload = pk.Workload(digits, model=_stateful_models(digits)[where])
    _settle(programs)
    kernel_resets[0] = 0
    first_a = train(pk, workload, {"learning_rate": 3.0e-3}, seed=0, steps=20)
    then_b = train(pk, workload, {"learning_rate": 3.0e-3}, seed=1, steps=20)
    again_a = train(pk, workload, {"learning_rate": 3.0e-3}, seed=0, steps=20)
    assert again_a.curves.equals(first_a.curves)
    # a program compiled with the op is never reused (its seeding keeps the kernel cache,
    # which is cleared at most once per dropped program); a builder's eager op resets it
    # at every trial
    assert programs.programs_built() == (3 if where == "in_call" else 1)
    if where == "in_call":
        assert kernel_resets[0] <= 2
    else:
        assert kernel_resets[0] >= 3
    programs.set_reuse(False)
    assert train(pk, workload, {"learning_rate": 3.0e-3}, seed=1, steps=20).curves.equals(
        then_b.curves)


def test_a_program_whose_functions_a_caller_wrapped_is_still_reused(pk, digits_workload,
                                                                    programs, monkeypatch):
    """bench/trial_overhead.py times a program by wrapping its functions: the check for
    stateful random ops reads the compiled functions the program made, not the wrappers."""
    made = programs.program_for

    def wrapping(*args, **kwargs):
        program = made(*args, **kwargs)
        inner = program.train_steps
        program.train_steps = lambda *a: inner(*a)
        return program

    monkeypatch.setattr(programs, "program_for", wrapping)
    first = train(pk, digits_workload, BASE)
    assert train(pk, digits_workload, BASE).curves.equals(first.curves)
    assert programs.programs_built() == 1
