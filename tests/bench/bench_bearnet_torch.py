#!/usr/bin/python3
"""bearnet-s (or ResNet) training and batch-1 inference speed in PyTorch: the yardstick for bench-bearnet.

Same model (bearnet-s imported from tests/gen_bearnet_golden.py, the ResNets from torchvision), same work
per step (forward, cross-entropy, backward, SGD momentum 0.9 with weight decay), random data, warm-up
steps first; with --frozen-steps, steps with the body frozen as bench-bearnet runs them (the body forward
in training mode without gradients, the head trained). Prints the same machine-readable lines as
bench-bearnet: train_img_s=..., train_best_img_s=..., frozen_img_s=..., frozen_best_img_s=..., infer_b1_ms=...
Run with Debian's Python: /usr/bin/python3 tests/bench/bench_bearnet_torch.py --size 64 --bs 64 --steps 10
On a GPU (--device cuda) each step ends with torch.cuda.synchronize(), as bench-bearnet's does, and the
modes PyTorch users reach for are here: --channels-last, --amp (bf16 autocast), --compile (torch.compile).
TF32 is allowed for convolutions (PyTorch's default) and for matrix products, as in bench-bearnet.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gen_bearnet_golden import BearNetS  # noqa: E402


def timed_steps(label, step, warmup, steps, sync):
    """warmup untimed then steps timed calls of step(): (seconds of the timed ones, the fastest one)."""
    best_step = float("inf")  # on a shared machine the fastest step says what the code can do
    for i in range(warmup + steps):
        step_start = time.perf_counter()
        if i == warmup:
            start = step_start
        loss = step()
        sync()
        if i >= warmup:
            best_step = min(best_step, time.perf_counter() - step_start)
    seconds = time.perf_counter() - start
    print(f"{label}: {steps} steps in {seconds:.3f} s ({1e3 * seconds / steps:.1f} ms/step), loss {loss:.4f}")
    return seconds, best_step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", choices=("bearnet-s", "resnet18", "resnet34"), default="bearnet-s")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--bs", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--frozen-steps", type=int, default=0)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--infer-runs", type=int, default=50)
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format (oneDNN's / cuDNN's fast path)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (GPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_bearnet_torch.py: --device cuda, but torch sees no GPU")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True  # time the algorithms once per shape, as bench-bearnet's cuDNN does
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    net = BearNetS(3) if a.arch == "bearnet-s" else getattr(torchvision.models, a.arch)(num_classes=3)
    model = net.to(dev, memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.bs, 3, a.size, a.size).to(dev, memory_format=fmt)
    y = torch.randint(0, 3, (a.bs,)).to(dev)
    forward = torch.compile(model) if a.compile else model
    mode = "+".join(m for m, on in (("channels_last", a.channels_last), ("bf16-autocast", a.amp),
                                     ("compile", a.compile)) if on) or "NCHW"
    where = torch.cuda.get_device_name() if a.device == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {a.arch}, {a.size}x{a.size}, batch {a.bs}, {where}, {mode}, "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '')}")
    model.train()

    def train_step():
        with torch.autocast(a.device, dtype=torch.bfloat16, enabled=a.amp):
            loss = F.cross_entropy(forward(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    train_s, best_step = timed_steps("train", train_step, a.warmup, a.steps, sync)
    if a.frozen_steps > 0:
        # Both models end in .fc after a flatten of the pooled features: with fc set aside, the model
        # returns the features the head reads.
        head, model.fc = model.fc, torch.nn.Identity()
        head_opt = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

        def frozen_step():
            with torch.no_grad():
                features = model(x)
            loss = F.cross_entropy(head(features), y)
            head_opt.zero_grad()
            loss.backward()
            head_opt.step()
            return loss.item()

        frozen_s, best_frozen = timed_steps("frozen", frozen_step, 1, a.frozen_steps, sync)
        model.fc = head
    model.eval()
    one = x[:1].contiguous(memory_format=fmt)
    with torch.no_grad():
        for _ in range(3):
            model(one)
        sync()
        infer_ms = float("inf")  # the fastest run, as bench-bearnet reports it
        for _ in range(a.infer_runs):
            start = time.perf_counter()
            model(one)
            sync()
            infer_ms = min(infer_ms, 1e3 * (time.perf_counter() - start))
    print(f"train_img_s={a.bs * a.steps / train_s:.1f}")
    print(f"train_best_img_s={a.bs / best_step:.1f}")
    if a.frozen_steps > 0:
        print(f"frozen_img_s={a.bs * a.frozen_steps / frozen_s:.1f}")
        print(f"frozen_best_img_s={a.bs / best_frozen:.1f}")
    print(f"infer_b1_ms={infer_ms:.3f}")


if __name__ == "__main__":
    main()
