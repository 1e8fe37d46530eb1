#!/usr/bin/env python3
"""Optional check: read a fitrun TensorBoard log folder with TensorBoard's own reader.

Needs `pip install tensorboard` (not part of the C++ test suite, which has its own independent
reader in tests/callbacks/test_tensorboard.cpp). Usage:

    python3 tests/tools/check_tensorboard.py LOG_DIR [--expect-tag epoch_loss ...]

Prints every scalar and histogram tag of LOG_DIR/train and LOG_DIR/validation with its
(step, value) pairs, and exits non-zero when a run is missing, a file cannot be read, or an
expected tag is absent from the train run.
"""
import argparse
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util


def read_run(folder):
    acc = event_accumulator.EventAccumulator(folder, size_guidance={"tensors": 0, "scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    out = {}
    # TF2 scalars (what fitrun writes) are tensors with the "scalars" plugin.
    for tag in tags.get("tensors", []):
        out[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    for tag in tags.get("scalars", []):
        out[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    for tag in tags.get("histograms", []):
        out[tag] = [(e.step, e.histogram_value.num) for e in acc.Histograms(tag)]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log_dir")
    parser.add_argument("--expect-tag", action="append", default=[])
    args = parser.parse_args()
    runs = {}
    for run in ("train", "validation"):
        folder = os.path.join(args.log_dir, run)
        if not os.path.isdir(folder):
            print(f"missing run folder {folder}", file=sys.stderr)
            return 1
        runs[run] = read_run(folder)
        for tag, points in sorted(runs[run].items()):
            print(f"{run}/{tag}: {points}")
    missing = [t for t in args.expect_tag if t not in runs["train"]]
    if missing:
        print(f"missing tags in train: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
