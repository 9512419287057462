"""A deliberately slow, file-backed input pipeline: diagnosed, fixed, measured again.

Writes the digits training examples as one ``.npy`` file each, then builds a pipeline
that decodes every file in a Python map (``np.load`` plus 0.5 ms of simulated decoding
per file), serially, with no cache and no prefetch. ``pk.input_pipeline_check`` measures
compute only, the pipeline alone and real training, says it is input-bound and which
fix applies; the fixed pipeline (parallel map, cache of the decoded examples, prefetch)
is measured in the same run. Prints the fixed pipeline's training throughput as a
fraction of compute-only throughput.

    python bench/input_pipeline.py          # about a minute
    python bench/input_pipeline.py --full   # more timed steps and repeats
"""
import argparse
import tempfile

import playbook_kit as pk

DECODE_S = 0.0005


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    pk.setup(seed=0)
    data = pk.load_digits(seed=0)
    workload = pk.Workload(data, defaults={"width": 512, "depth": 2, "batch_size": 64})
    steps, repeats = (50, 10) if args.full else (20, 5)
    epoch = len(data.y_train) // 64
    with tempfile.TemporaryDirectory() as folder:
        paths = pk.write_example_files(data.x_train, folder)
        decode = pk.slow_decoder(DECODE_S)
        slow = pk.file_pipeline(paths, data.y_train, decode, 64)
        fixed = pk.file_pipeline(paths, data.y_train, decode, 64, parallel=True, cache=True,
                                 prefetch=True)
        # warm-up covers one epoch, so that the fixed pipeline's cache is full
        check = pk.input_pipeline_check(workload, slow, fixed=fixed, steps=steps,
                                        warmup_steps=epoch + 1, repeats=repeats)
    print(f"{len(paths)} files, {DECODE_S * 1e3:g} ms simulated decoding each, batch 64")
    print(check.table.to_string(index=False))
    print(check.recommendation)
    fraction = check.numbers["fixed_fraction_of_compute"]
    print(f"fixed_pipeline_fraction_of_compute={fraction:.2f} (target >=0.9)")


if __name__ == "__main__":
    main()
