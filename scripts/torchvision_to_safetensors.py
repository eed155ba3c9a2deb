#!/usr/bin/python3
"""Convert torchvision ResNet-18/34 weights (.pth) into a safetensors file for `bears train --pretrained`.

    /usr/bin/python3 scripts/torchvision_to_safetensors.py resnet34-b627a593.pth resnet34.safetensors

Needs Debian's python3-torch and python3-torchvision (apt-get install python3-torchvision); sgdlab itself
never runs Python or downloads anything. The .pth is one you already have: torchvision saves the
ImageNet weights it downloads under ~/.cache/torch/hub/checkpoints/. The tensors keep torchvision's
state_dict names; BN's num_batches_tracked counters (int64, unused by sgdlab) are left out. Before
anything is written, a file named as torchvision names its weights (resnet34-b627a593.pth) must have a
sha256 starting with that name's hex, and the weights are loaded into torchvision's own model of that
arch, so a file of another arch or a damaged one is refused, naming the first tensor that differs. The
output replaces an existing file only once complete.
"""
import argparse
import hashlib
import os
import re
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_safetensors  # noqa: E402

ARCHS = ("resnet18", "resnet34")


def guess_arch(state):
    # ResNet-34 has a third block in layer1; ResNet-18 stops at layer1.1.
    return "resnet34" if "layer1.2.conv1.weight" in state else "resnet18"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pth", help="torchvision weights, e.g. resnet34-b627a593.pth")
    parser.add_argument("out", help="the safetensors file to write")
    parser.add_argument("--arch", choices=ARCHS, help="default: from the tensor names")
    args = parser.parse_args()
    if os.path.abspath(args.pth) == os.path.abspath(args.out):
        sys.exit(f"error: the output {args.out} would replace the input")
    try:
        with open(args.pth, "rb") as f:
            data = f.read()
            source_sha = hashlib.sha256(data).hexdigest()
    except OSError as e:
        sys.exit(f"error: cannot read {args.pth}: {e.strerror}")
    # torchvision names each file after its sha256 (resnet34-b627a593.pth), and torch.hub refuses a
    # download whose sha256 does not start so: the same check here, so a damaged copy is never converted.
    named = re.search(r"-([0-9a-f]{8,64})\.pth$", os.path.basename(args.pth))
    if named and not source_sha.startswith(named.group(1)):
        sys.exit(f"error: the sha256 of {args.pth} is {source_sha}, but its name says it starts with "
                 f"{named.group(1)}: the file is damaged (download it again) or renamed")
    try:
        # weights_only refuses pickled code: a .pth from elsewhere cannot run anything here.
        # torch.save writes a zip archive (before PyTorch 1.6, a pickle): anything else is not a .pth, and
        # torch.load's own message would suggest weights_only=False, which runs code from the file.
        if data[:4] != b"PK\x03\x04" and data[:2] != b"\x80\x02":
            hint = ""
            if len(data) >= 9 and data[8:9] == b"{":
                hint = ": it looks like safetensors already, so pass it to bears train --pretrained as it is"
            sys.exit(f"error: {args.pth} is not a PyTorch .pth file (torch.save's zip or pickle){hint}")
        state = torch.load(args.pth, map_location="cpu", weights_only=True)
    except Exception as e:  # a missing, truncated or foreign file: say so, no traceback
        sys.exit(f"error: cannot read {args.pth} as PyTorch weights ({type(e).__name__}: {e})")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        sys.exit(f"error: {args.pth} does not hold a state_dict of tensors")
    arch = args.arch or guess_arch(state)
    model = getattr(torchvision.models, arch)(num_classes=state["fc.weight"].shape[0] if "fc.weight" in state else 1000)
    try:  # every name and shape torchvision's model has, no others; the first mismatch is named
        loaded = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a shape differs: PyTorch lists every such tensor, the first is enough
        first = next((line.strip() for line in str(e).splitlines() if "size mismatch" in line), str(e))
        sys.exit(f"error: {args.pth} is not a torchvision {arch} (sgdlab builds resnet18 and resnet34): {first}")
    for what, names in (("lacks", loaded.missing_keys), ("has a tensor it does not have:", loaded.unexpected_keys)):
        if names:
            sys.exit(f"error: {args.pth} is not a torchvision {arch}: the file {what} '{names[0]}' "
                     f"({len(names)} such tensor(s) in all)")
    tensors = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    try:
        save_safetensors(args.out, tensors, {"arch": arch, "format_version": "1", "source": os.path.basename(args.pth),
                                             "source_sha256": source_sha,
                                             "converter": "scripts/torchvision_to_safetensors.py"})
    except OSError as e:
        sys.exit(f"error: cannot write {args.out}: {e.strerror}")
    print(f"wrote {args.out}: {arch}, {len(tensors)} tensors, "
          f"{sum(t.numel() for t in tensors.values()):,} numbers (from {args.pth}, sha256 {source_sha})")


if __name__ == "__main__":
    main()
