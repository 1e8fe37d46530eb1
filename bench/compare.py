#!/usr/bin/env python3
"""Runs a fitrun benchmark and the same model in PyTorch in one run and prints the ratio.

    python3 bench/compare.py [--build build] [--threads 2] [--repeats 5] [mlp:128 mlp:32 cnn:64]
    python3 bench/compare.py --precision bf16 cnn:64 resnet:256      # mixed_bfloat16 vs autocast
    python3 bench/compare.py --device cuda [--precision float32|tf32|bf16] mlp:128 cnn:64 resnet:256

Each side prints one JSON line (median samples/s over repeats of timed steps, after warm-up);
the two run alternately, fitrun then torch, `--rounds` times, and the table shows the median of
each side and their ratio. Run it on an idle machine: oneDNN's threads slow down 10-20x when
another process holds a core.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# steps per repeat for each model, chosen so a repeat takes about a second on 2 cores
STEPS = {"mlp": 40, "cnn": 20, "lstm": 8, "transformer": 4, "resnet": 2}
# on a GPU: steps per repeat so a repeat takes 0.1-0.5 s on an H100/H200
GPU_STEPS = {"mlp": 400, "cnn": 300, "lstm": 40, "transformer": 40, "resnet": 40}


def run(cmd, env):
    """One side's JSON line; None (after printing why) when it failed, so the other rows still run."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"compare.py: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}",
              file=sys.stderr, flush=True)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*", default=["mlp:128", "mlp:32"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["float32", "tf32", "bf16"], default="float32",
                    help="the arithmetic, for both sides (see bench/peers/torch_models.py); on the CPU "
                         "float32 or bf16 (fitrun's mixed_bfloat16, torch's autocast)")
    ap.add_argument("--peer-only", action="store_true", help="run only the PyTorch side")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    # Libraries for fitrun's binaries only (bench/gpu/run.sh: Debian's, unpacked on a GPU
    # machine), kept away from python3 and torch.
    fitrun_env = dict(env)
    if os.environ.get("FITRUN_BENCH_LD_LIBRARY_PATH"):
        fitrun_env["LD_LIBRARY_PATH"] = os.environ["FITRUN_BENCH_LD_LIBRARY_PATH"]
    rows = []
    for config in args.configs:
        model, batch = config.split(":")
        gpu = args.device == "cuda"
        steps = str(GPU_STEPS[model] if gpu else max(5, STEPS[model] * 128 // int(batch) // 2))
        common = ["--batch", batch, "--steps", steps, "--warmup", "20" if gpu else "5",
                  "--repeats", str(args.repeats), "--threads", str(args.threads)]
        if gpu:
            common += ["--device", "cuda"]
        if gpu or args.precision != "float32":
            common += ["--precision", args.precision]
        ours, theirs = [], []
        for _ in range(args.rounds):
            if not args.peer_only:
                ours.append(run([os.path.join(args.build, "bench", f"bench_{model}")] + common, fitrun_env))
            theirs.append(run([sys.executable, os.path.join(HERE, "peers", "torch_models.py"), model] + common, env))
        ours, theirs = [r for r in ours if r], [r for r in theirs if r]
        f = statistics.median(r["samples_per_s_median"] for r in ours) if ours else float("nan")
        t = statistics.median(r["samples_per_s_median"] for r in theirs) if theirs else float("nan")
        rows.append((model, int(batch), f, t, theirs[0].get("torch", "?") if theirs else "?"))
    print(f"{'model':<6} {'batch':>5} {'samples/s fitrun':>17} {'samples/s torch':>16} {'ratio':>6}")
    for model, batch, f, t, version in rows:
        print(f"{model:<6} {batch:>5} {f:>17.0f} {t:>16.0f} {f / t:>6.2f}")
    where = f"{args.device}, {args.precision}" if args.device == "cuda" else f"threads={args.threads}, {args.precision}"
    print(f"({where}, torch {rows[0][4] if rows else '?'}, medians of {args.rounds} rounds x {args.repeats} repeats)")


if __name__ == "__main__":
    main()
