#!/usr/bin/python3
"""The yardstick for notes/transfer.md's fine-tuning epoch times: the same two epochs in PyTorch.

`bears train b224 --arch A --pretrained P --freeze-epochs 1 --epochs 1 --bs 16` on 54 training and 15
validation pictures at 224 px runs a frozen epoch (the body forward without gradients, the head
trained) and an unfrozen one (everything trained), each followed by validation. This times the same
work with torchvision's ResNet-18/34 on 2 threads, random data, AdamW, after one warm-up epoch.
Run with Debian's Python: /usr/bin/python3 tests/bench/resnet_epoch_torch.py
"""
import time

import torch
import torch.nn.functional as F
import torchvision

BATCHES, VALID = (16, 16, 16, 6), 15


def main():
    torch.set_num_threads(2)
    for arch in ("resnet18", "resnet34"):
        model = getattr(torchvision.models, arch)(num_classes=3)
        body = torch.nn.Sequential(*list(model.children())[:-1])
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x, y = torch.randn(16, 3, 224, 224), torch.randint(0, 3, (16,))
        valid = torch.randn(VALID, 3, 224, 224)

        def epoch(frozen):
            t0 = time.time()
            model.train()
            for n in BATCHES:
                if frozen:
                    with torch.no_grad():
                        features = torch.flatten(body(x[:n]), 1)
                    loss = F.cross_entropy(model.fc(features), y[:n])
                else:
                    loss = F.cross_entropy(model(x[:n]), y[:n])
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                model(valid)
            return time.time() - t0

        epoch(True)  # warm-up
        print(f"{arch}: frozen epoch {epoch(True):.1f} s, unfrozen epoch {epoch(False):.1f} s "
              f"(torch {torch.__version__}, 2 threads)", flush=True)


if __name__ == "__main__":
    main()
