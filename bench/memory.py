"""Memory over a long study of many architectures, on both engines (issue 22).

Each engine runs in a fresh process: trials of the digits MLP whose architecture changes
every trial, each trial writing its best-k and last checkpoints as a study would, so that
every trial builds a new program (the program cache's worst case) or, on the fit engine,
a new model that Keras traces. Two sets of architectures:

* ``cycle`` (the issue's reproduction): widths 8 to 47 in turn, 40 architectures;
* ``distinct``: width 8 to 107, then depth 2, 3, 4 over the widths again, so that no two
  of the first 400 trials share a shape.

The process's resident memory is read at trial 40 and at the last trial, after a garbage
collection and the release the trainer does after its own (as the next trial's start
would); the headline is the largest growth measured (engines and architectures).
``--before`` also runs each engine with the release of dropped programs turned off
(``graph_release.release_dropped_graphs`` and ``release_stale_kernels`` made no-ops): what
TensorFlow kept before the fix.

The ceiling, printed beside the headline: the worst case again with oneDNN off
(``TF_ENABLE_ONEDNN_OPTS=0``), what is left without any oneDNN primitive cache.
TensorFlow's oneDNN kernels keep the primitives they build for each new shape in caches
of their own (thread-local, of a fixed capacity, with no interface to empty them;
``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` does not reach them). Most of what they kept was the
JIT code of the fused matmul's bias-and-activation kernel (memray: 90 of the 112 MiB
allocated and kept over 60 never-repeating fit-engine trials), which is why ``setup``
leaves kernels unfused on CPU (``fused_kernels``); ``--fused`` also runs the worst case
with them fused, as before.

    python bench/memory.py            # cycle, 100 trials per engine: trial 40 vs 100
    python bench/memory.py --full     # cycle and distinct, 400 trials: trial 40 vs 400
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

TARGET_MIB = 50.0
FIRST = 40


def architecture(i: int, kind: str) -> dict:
    if kind == "cycle":
        return {"width": 8 + i % 40, "learning_rate": 1.0e-3 * (1 + i % 3)}
    return {"width": 8 + i % 100, "depth": 1 + (i // 100) % 4,
            "learning_rate": 1.0e-3 * (1 + i % 3)}


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def run(engine: str, kind: str, trials: int, release: bool, fused: bool | None) -> dict:
    """One engine's trials in this process; returns the memory after each 20."""
    import gc
    import shutil
    import tempfile

    import playbook_kit as pk
    from playbook_kit.training import graph_release

    pk.setup(seed=0, threads=1, fused_kernels=fused)
    if not release:
        graph_release.release_dropped_graphs = graph_release.release_stale_kernels = \
            lambda: None
    workload = pk.Workload(pk.load_digits(seed=0), defaults={"width": 32},
                           **({"engine": "fit"} if engine == "fit" else {}))
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    measured = {}
    try:
        for i in range(trials):
            result = pk.train_trial(workload, architecture(i, kind), seed=i, max_train_steps=8,
                                    eval_every=4, checkpoint_dir=folder / f"trial_{i}")
            assert result.status == "completed" and result.engine == engine, result.reason
            shutil.rmtree(folder / f"trial_{i}")
            if (i + 1) % 20 == 0 or i + 1 == trials:
                gc.collect()
                graph_release.release_stale_kernels()  # as the next trial's start would
                measured[i + 1] = round(rss_mib(), 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return measured


def measure(engine: str, kind: str, trials: int, release: bool, onednn: bool = True,
            fused: bool | None = None) -> dict:
    """``run`` in a fresh process (TensorFlow's state starts empty for each engine)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0",
           "TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, __file__, "--child", engine, kind, str(trials),
                          str(int(release)), str(fused)], capture_output=True, text=True, env=env,
                         check=True).stdout
    return {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="400 trials per engine, both sets of architectures")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--architectures", default=None, help="cycle, distinct or both")
    parser.add_argument("--before", action="store_true",
                        help="also run without releasing dropped programs")
    parser.add_argument("--engines", default="compiled,fit")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the runs with oneDNN off (the ceiling)")
    parser.add_argument("--fused", action="store_true",
                        help="also run the worst case with fused kernels (the old default)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, kind, trials, release, fused = args.child
        print(json.dumps(run(engine, kind, int(trials), release == "1",
                             {"True": True, "False": False}.get(fused))))
        return
    trials = args.trials or (400 if args.full else 100)
    kinds = args.architectures or ("both" if args.full else "cycle")
    kinds = ["cycle", "distinct"] if kinds == "both" else [kinds]
    def reported(label: str, engine: str, kind: str, **options) -> tuple[dict, float]:
        """One measurement, printed: the readings and the growth from trial FIRST."""
        memory = measure(engine, kind, trials, **options)
        change = memory[trials] - memory[FIRST]
        print(f"{label}: MiB after trial " + ", ".join(
            f"{k}: {v:.0f}" for k, v in sorted(memory.items())))
        print(f"{label}: trial {FIRST} -> {trials}: {change:+.1f} MiB "
              f"({change / (trials - FIRST):+.3f} MiB per trial)", flush=True)
        return memory, change

    growth, memory_by = {}, {}
    for kind in kinds:
        for release in ([True, False] if args.before else [True]):
            for engine in args.engines.split(","):
                label = f"{engine}, {kind}" + ("" if release else ", before: nothing released")
                memory, change = reported(label, engine, kind, release=release)
                if release:
                    growth[(kind, engine)] = change
                    memory_by[(kind, engine)] = memory
    worst = max(growth, key=growth.get)
    kind, engine = worst
    if args.fused:
        reported(f"{engine}, {kind}, fused kernels (before)", engine, kind, release=True,
                 fused=True)
    ceiling = ""
    if not args.no_ceiling:
        _, change = reported(f"{engine}, {kind}, oneDNN off", engine, kind, release=True,
                             onednn=False)
        ceiling = (f"; the same with oneDNN off, without TensorFlow's per-shape primitive "
                   f"caches: {change:+.1f} MiB")
    last = [k for k in sorted(memory_by[worst]) if k >= max(FIRST, trials - 100)]
    plateau = (memory_by[worst][last[-1]] - memory_by[worst][last[0]]) / (last[-1] - last[0])
    print(f"memory_growth_{FIRST}_to_{trials}={growth[worst]:.1f} MiB ({worst[1]} engine, "
          f"{worst[0]} architectures; {plateau:+.3f} MiB per trial over the last "
          f"{last[-1] - last[0]}) (target <{TARGET_MIB:.0f} MiB){ceiling}")


if __name__ == "__main__":
    main()
