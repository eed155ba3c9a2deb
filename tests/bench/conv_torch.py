#!/usr/bin/python3
"""One conv layer's forward in PyTorch (channels-last, oneDNN's fast path, no gradients): the peer for
tests/bench/conv_shapes.sh --torch. Prints "forward GFLOP/s ms" of the fastest of --runs calls, after
three untimed ones.
Run with Debian's Python: /usr/bin/python3 tests/bench/conv_torch.py --n 8 --c 128 --size 28 --oc 128
"""
import argparse
import time

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("n", 16), ("c", 16), ("size", 64), ("oc", 16), ("k", 3), ("stride", 1),
                          ("threads", 1), ("runs", 8)):
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    fmt = torch.channels_last
    x = torch.randn(a.n, a.c, a.size, a.size).contiguous(memory_format=fmt)
    conv = torch.nn.Conv2d(a.c, a.oc, a.k, a.stride, a.k // 2, bias=False).to(memory_format=fmt)
    with torch.no_grad():
        for _ in range(3):
            conv(x)
        best = float("inf")
        for _ in range(a.runs):
            t = time.perf_counter()
            y = conv(x)
            best = min(best, time.perf_counter() - t)
    flops = 2.0 * y.numel() * a.c * a.k * a.k
    print(f"forward {flops / best / 1e9:.1f} {best * 1e3:.3f}")


if __name__ == "__main__":
    main()
