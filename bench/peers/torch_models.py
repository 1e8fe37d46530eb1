#!/usr/bin/env python3
"""PyTorch peer for the fitrun training benchmarks (CPU, or a GPU with --device cuda).

    python3 bench/peers/torch_models.py {mlp,cnn,lstm,transformer,resnet} [--batch B] [--steps S]
                                        [--warmup W] [--threads T] [--repeats R]
                                        [--device cpu|cuda] [--precision float32|tf32|bf16]

Trains on pre-generated random batches (data generation is not timed): W warm-up train steps
(zero_grad, forward, loss, backward, step), then R repeats of S timed steps. Prints one JSON line
on stdout; diagnostics go to stderr.

  mlp: 784-512-512-10, ReLU, Adam(lr=1e-3), CrossEntropyLoss on logits, sparse int labels.
  cnn: Conv2d(1,32,3)+ReLU, MaxPool2d(2), Conv2d(32,64,3)+ReLU, MaxPool2d(2), Flatten,
       Linear(1600,128)+ReLU, Linear(128,10); 28x28x1 input, Adam(lr=1e-3), CE on logits.
       Memory format: channels_last (model and input) by default, because it was the faster one
       on the 2-core dev VM (torch 2.15.0, batch 64, 2 threads, interleaved A/B on a quiet
       machine: ~2430 vs ~2020 samples/s for contiguous NCHW, ~+20%). --layout contiguous forces
       NCHW; --layout auto re-measures both and keeps the faster.
  lstm: nn.LSTM(32, 128) over 50 steps (batch_first), the last output into Linear(128, 10).
  transformer: 2 x nn.TransformerEncoderLayer(128, 4 heads, feed-forward 256, dropout 0,
       post-norm, ReLU) over 64 steps of 128 features, mean over steps, Linear(128, 10).
  resnet: a ResNet-style CIFAR CNN on 32x32x3: conv3x3(32)+BN+ReLU, then residual blocks
       (conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU) of 32, 32, 64 (stride 2), 64, 128 (stride 2),
       128 channels (1x1 conv + BN shortcuts where the shape changes), global average pooling,
       Linear(128, 10); channels_last. bench/bench_resnet.cpp is the same model in fitrun.

GPU (--device cuda): batches live on the GPU; each timed repeat is bracketed by
torch.cuda.synchronize(). --precision float32 turns TF32 off in cuDNN and cuBLAS (exact fp32, the
arithmetic fitrun's GPU path uses by default), tf32 is PyTorch's default (TF32 in cuDNN
convolutions), bf16 runs the forward under torch.autocast(bfloat16).

Threads: --threads T, else $OMP_NUM_THREADS, else all cores. OMP_NUM_THREADS/MKL_NUM_THREADS are
set to T before torch is imported and torch.set_num_threads(T) is called.

Steps: --steps 0 (the default) picks S from the warm-up timing so that one repeat takes about
--repeat-seconds (default 2.2 s); with the default W=10 and R=5 a run takes ~15-20 s in total
(including ~3 s to import torch). Give --steps explicitly for a fixed amount of work.
The output also has samples_per_s_max, steps, layout, final_loss and wall_s.

Note: on a 2-core machine any other CPU load (e.g. a parallel build) slows 2-thread OpenMP
training down by up to 10x; run benchmarks on an otherwise idle machine.
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", choices=["mlp", "cnn", "lstm", "transformer", "resnet"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=0, help="timed steps per repeat (0 = auto)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="0 = $OMP_NUM_THREADS or all cores")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--repeat-seconds", type=float, default=2.2, help="target time per repeat when --steps 0")
    p.add_argument("--layout", choices=["contiguous", "channels_last", "auto"], default="channels_last",
                   help="cnn memory format")
    p.add_argument("--nbatches", type=int, default=8, help="distinct pre-generated batches (cycled)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--precision", choices=["float32", "tf32", "bf16"], default="float32")
    a = p.parse_args()
    if a.threads <= 0:
        env = os.environ.get("OMP_NUM_THREADS", "")
        a.threads = int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)
    for name in ("batch", "warmup", "repeats", "nbatches"):
        if getattr(a, name) < (0 if name == "warmup" else 1):
            p.error(f"--{name} too small")
    if a.steps < 0:
        p.error("--steps must be >= 0")
    return a


args = parse_args()
# Must happen before torch (and its OpenMP/MKL runtimes) is loaded.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["MKL_NUM_THREADS"] = str(args.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
DEVICE = torch.device(args.device)
if args.device == "cuda":
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"


def sync():
    if args.device == "cuda":
        torch.cuda.synchronize()


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def resnet():
    layers = [nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
    cin = 32
    for cout, stride in [(32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]:
        layers.append(Block(cin, cout, stride))
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


class LastLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=256, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


def build(model, memory_format):
    if model == "lstm":
        return LastLSTM()
    if model == "transformer":
        return Encoder()
    if model == "resnet":
        return resnet().to(memory_format=memory_format)
    if model == "mlp":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    else:
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
        net = net.to(memory_format=memory_format)
    return net


def make_batches(model, memory_format):
    g = torch.Generator().manual_seed(args.seed + 1)
    shape = {"mlp": (args.batch, 784), "lstm": (args.batch, 50, 32),
             "transformer": (args.batch, 64, 128),
             "resnet": (args.batch, 3, 32, 32)}.get(model, (args.batch, 1, 28, 28))
    out = []
    for _ in range(args.nbatches):
        x = torch.randn(shape, generator=g, dtype=torch.float32)
        if model in ("cnn", "resnet"):
            x = x.contiguous(memory_format=memory_format)
        y = torch.randint(0, 10, (args.batch,), generator=g, dtype=torch.int64)
        out.append((x.to(DEVICE), y.to(DEVICE)))
    return out


class Trainer:
    def __init__(self, model, memory_format):
        torch.manual_seed(args.seed)
        self.net = build(model, memory_format).to(DEVICE)
        self.net.train()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=args.lr)
        self.loss_fn = nn.CrossEntropyLoss()
        self.batches = make_batches(model, memory_format)
        self.i = 0
        self.loss = None

    def steps(self, n):
        net, opt, loss_fn, batches = self.net, self.opt, self.loss_fn, self.batches
        loss = self.loss
        for _ in range(n):
            x, y = batches[self.i % len(batches)]
            self.i += 1
            opt.zero_grad(set_to_none=True)
            if args.precision == "bf16":
                with torch.autocast(args.device, dtype=torch.bfloat16):
                    loss = loss_fn(net(x), y)
            else:
                loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        self.loss = loss

    def timed(self, n):
        sync()
        t0 = time.perf_counter()
        self.steps(n)
        sync()
        return time.perf_counter() - t0


def main():
    t_start = time.perf_counter()
    formats = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
    layout = args.layout if args.model in ("cnn", "resnet") else "contiguous"
    if layout == "auto":
        # Time both memory formats briefly and keep the faster one.
        # Time both memory formats, interleaved in short rounds (so background load hits both
        # alike), and keep the one with the better median rate.
        trs = {name: Trainer(args.model, fmt) for name, fmt in formats.items()}
        for tr in trs.values():
            tr.steps(max(args.warmup, 3))
        n = max(3, int(0.25 / max(trs["contiguous"].timed(3) / 3, 1e-6)))
        rates = {name: [] for name in trs}
        for r in range(8):
            for name in (sorted(trs) if r % 2 else sorted(trs, reverse=True)):
                rates[name].append(n * args.batch / trs[name].timed(n))
        med = {name: statistics.median(v) for name, v in rates.items()}
        for name, v in med.items():
            print(f"torch_models: layout {name}: median {v:.1f}, best {max(rates[name]):.1f} samples/s",
                  file=sys.stderr)
        layout = max(med, key=med.get)
        del trs

    tr = Trainer(args.model, formats[layout])
    tr.steps(args.warmup)
    steps = args.steps
    if steps == 0:
        # Calibrate from the fastest of three short probes, so a burst of load from other
        # processes during calibration does not shrink the timed repeats.
        probe = 3
        per_step = min(tr.timed(probe) for _ in range(3)) / probe
        steps = max(5, int(round(args.repeat_seconds / max(per_step, 1e-6))))

    rates = []
    for _ in range(args.repeats):
        rates.append(steps * args.batch / tr.timed(steps))
    if tr.loss is not None and not torch.isfinite(tr.loss).item():
        print(f"torch_models: warning: non-finite loss {tr.loss.item()}", file=sys.stderr)

    result = {
        "model": args.model,
        "batch": args.batch,
        "threads": args.threads,
        "samples_per_s_median": round(statistics.median(rates), 2),
        "samples_per_s_all": [round(r, 2) for r in rates],
        "samples_per_s_max": round(max(rates), 2),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "precision": args.precision,
        "steps": steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "layout": layout,
        "torch_threads": torch.get_num_threads(),
        "final_loss": round(float(tr.loss.item()), 4) if tr.loss is not None else None,
        "wall_s": round(time.perf_counter() - t_start, 2),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
