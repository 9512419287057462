"""Fused kernels on and off, side by side: step time and the bits of the curves.

``pk.setup(fused_kernels=None)`` (the default) turns TensorFlow's graph "remapper" off
where no GPU is visible: on CPU it fuses a layer's matmul or convolution with its bias and
activation into a oneDNN primitive compiled for each shape and cached per thread, the
memory that grows over a study whose architectures never repeat (``bench/memory.py``).
This measures what that costs or saves in speed, and whether the trials give the same
bits either way.

Each measurement runs in a fresh process (the setting applies to functions traced after
it): one warm-up trial, then three trials of ``--steps`` steps, timed; a round runs each
model fused and unfused, the order alternating between rounds. Prints each model's
median ms per step both ways with the range, the ratio (fused / unfused: above 1 means
unfused is faster), and whether the curves are bit-identical.

    python bench/fused_kernels.py             # 3 rounds, 1,000 steps per trial
    python bench/fused_kernels.py --rounds 5 --steps 2000
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODELS = {
    "mlp 32x1": ({"model": "mlp", "width": 32, "depth": 1}, "compiled"),
    "mlp 128x2": ({"model": "mlp", "width": 128, "depth": 2}, "compiled"),
    "cnn": ({"model": "cnn"}, "compiled"),
    "mlp 128x2 (fit engine)": ({"model": "mlp", "width": 128, "depth": 2}, "fit"),
}


def child(name: str, fused: bool, steps: int) -> dict:
    import playbook_kit as pk

    pk.setup(seed=0, fused_kernels=fused)
    defaults, engine = MODELS[name]
    workload = pk.Workload(pk.load_digits(seed=0), defaults=defaults,
                           **({"engine": "fit"} if engine == "fit" else {}))
    pk.train_trial(workload, {}, seed=0, max_train_steps=50, eval_every=25)
    times, digest = [], hashlib.sha256()
    for seed in range(3):
        began = time.perf_counter()
        result = pk.train_trial(workload, {}, seed=seed, max_train_steps=steps,
                                eval_every=steps // 4)
        times.append(time.perf_counter() - began)
        assert result.status == "completed" and result.engine == engine, result.reason
        digest.update(result.curves["value"].to_numpy().tobytes())
    return {"ms_per_step": min(times) * 1e3 / steps, "curves": digest.hexdigest()}


def measure(name: str, fused: bool, steps: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, __file__, "--child", name, str(int(fused)),
                          str(steps)], capture_output=True, text=True, env=env,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated, from: " + ", ".join(MODELS))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, fused, steps = args.child
        print(json.dumps(child(name, fused == "1", int(steps))))
        return
    names = args.models.split(",")
    runs = {(name, fused): [] for name in names for fused in (True, False)}
    for round_ in range(args.rounds):
        for name in names:
            for fused in ((True, False) if round_ % 2 == 0 else (False, True)):
                runs[(name, fused)].append(measure(name, fused, args.steps))
    ratios = []
    for name in names:
        on = [r["ms_per_step"] for r in runs[(name, True)]]
        off = [r["ms_per_step"] for r in runs[(name, False)]]
        ratio = [a / b for a, b in zip(on, off)]
        ratios.append(statistics.median(ratio))
        same = len({r["curves"] for key in ((name, True), (name, False))
                    for r in runs[key]}) == 1
        print(f"{name}: fused {statistics.median(on):.3f} ms/step ({min(on):.3f}-{max(on):.3f}),"
              f" unfused {statistics.median(off):.3f} ({min(off):.3f}-{max(off):.3f}); "
              f"fused/unfused {statistics.median(ratio):.2f}x ({min(ratio):.2f}-"
              f"{max(ratio):.2f}); curves bit-identical: {'yes' if same else 'NO'}",
              flush=True)
    print(f"fused_over_unfused_step_time={statistics.median(ratios):.2f}x (median over "
          f"models; above 1: unfused, the CPU default, is faster)")


if __name__ == "__main__":
    main()
