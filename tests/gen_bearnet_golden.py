#!/usr/bin/python3
"""Write tests/data/bearnet_golden.safetensors: bearnet-s in PyTorch, for the C parity test.

Run once with Debian's Python (the one that imports torch): /usr/bin/python3 tests/gen_bearnet_golden.py
The output is committed; tests/test_bearnet_parity.c reads it with our own loader and needs no Python.

The model is built from the same description as core/bearnet.c (DESIGN.md, "bearnet-s"), with the same
state_dict names. Weights and inputs are drawn in float32 with a fixed seed; the forward and backward
passes then run in float64, so the reference carries no float32 rounding of its own and the C test's
tolerance measures only ours. The file holds, with prefixes:
    input, labels                     a (4,3,32,32) batch and its 3-class labels (as floats)
    <state_dict name>                 every weight and BN buffer before the step
    train.logits, train.loss          training mode forward (batch statistics)
    grad.<name>, grad.input           d loss / d a few parameters and the input, after backward
    after.<bn>.running_mean/var       running statistics after that one training forward
    eval.logits                       eval mode forward (running statistics) on the same input
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from safetensors_io import save_safetensors  # noqa: E402


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = ConvBN(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.shortcut(x) if self.shortcut is not None else x))


class BearNetS(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.stem = ConvBN(3, 16, 3, 1)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.layer4 = BasicBlock(64, 128, 2)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        h = F.relu(self.stem(x))
        h = self.layer4(self.layer3(self.layer2(self.layer1(h))))
        return self.fc(h.mean(dim=(2, 3)))


def main():
    torch.manual_seed(1234)
    model = BearNetS(3)
    # Move BN away from its defaults so weight, bias and the running statistics all matter.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(4, 3, 32, 32)
    labels = torch.tensor([0, 1, 2, 0])
    assert sum(p.numel() for p in model.parameters()) == 307923

    state = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    out = {"input": x, "labels": labels.float()}
    out.update(state)

    model = model.double()
    model.train()
    xd = x.double().requires_grad_(True)
    logits = model(xd)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["train.logits"] = logits
    out["train.loss"] = loss.reshape(())
    params = dict(model.named_parameters())
    for name in ["stem.conv.weight", "stem.bn.weight", "layer1.conv1.weight", "layer2.shortcut.conv.weight",
                 "layer2.shortcut.bn.bias", "layer3.conv2.weight", "layer3.bn1.weight", "layer4.bn2.bias",
                 "fc.weight", "fc.bias"]:
        out["grad." + name] = params[name].grad
    out["grad.input"] = xd.grad
    for name, buf in model.named_buffers():
        if name.startswith("layer4.bn2.") and not name.endswith("num_batches_tracked"):
            out["after." + name] = buf
    model.eval()
    with torch.no_grad():
        out["eval.logits"] = model(x.double())

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "bearnet_golden.safetensors")
    save_safetensors(path, out, {"arch": "bearnet-s", "generator": "tests/gen_bearnet_golden.py",
                                 "torch": torch.__version__, "seed": "1234"})
    print(f"wrote {path}: {os.path.getsize(path)} bytes, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
