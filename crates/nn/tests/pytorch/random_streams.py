"""PyTorch's random draws on the CPU after torch.manual_seed, for
crates/nn/tests/random_streams.rs: ferrograd's generator is PyTorch's (the 32-bit
Mersenne Twister and the same transforms), so the same seed must give the same values.

Run: python3 crates/nn/tests/pytorch/random_streams.py
It writes random_streams.json next to itself (torch 2.15 made the committed file).

For each seed, in this order from one manual_seed: torch.rand(5); torch.randn(3) twice
(fewer than 16 values: one at a time, the second of each Box-Muller pair kept for the
next draw, across calls); torch.randn(37) (16 or more: PyTorch's blocks of 16, whose
vectorized log/cos/sin may round an ulp away from the C library's); torch.randint(-3, 10,
(20,)); nn.Linear(7, 3); the optimization tutorial's NeuralNetwork (each parameter: its
first and last 8 values' bits, and the bits of the float64 sum of all its values, added in
order);
nn.init.normal_ on a [4, 5] tensor (mean 0.5, std 0.02) and on a [3] one;
nn.init.kaiming_uniform_ on a [3, 4] tensor with a = 0.1; nn.init.normal_ on 40 values (mean
-1, std 3); nn.init.normal_ and uniform_(-1, 2) on the transpose of a [4, 5] tensor (drawn in
memory order; the [4, 5] tensor recorded); F.dropout(ones(40), 0.3); F.dropout(ones(10), 1.0)
(which draws nothing), then torch.rand(1). Then, from a torch.Generator seeded
the same: torch.randperm(1000).
"""

import json
import os
import struct

import torch
from torch import nn


def bits(t):
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in t.detach().flatten().tolist()]


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )


def summary(t):
    values = t.detach().flatten().tolist()
    total = 0.0
    for v in values:
        total += v
    # The sum's bits (u64): a JSON number need not parse back to the same double.
    sum_bits = struct.unpack("<Q", struct.pack("<d", total))[0]
    return {"first": bits(t.flatten()[:8]), "last": bits(t.flatten()[-8:]), "sum_bits": sum_bits}


def draws(seed):
    torch.manual_seed(seed)
    out = {"seed": seed}
    out["rand"] = bits(torch.rand(5))
    out["randn_small"] = bits(torch.randn(3)) + bits(torch.randn(3))
    out["randn_fill"] = bits(torch.randn(37))
    out["randint"] = torch.randint(-3, 10, (20,)).tolist()
    lin = nn.Linear(7, 3)
    out["linear"] = {"weight": bits(lin.weight), "bias": bits(lin.bias)}
    model = NeuralNetwork()
    out["tutorial"] = {name: summary(p) for name, p in model.state_dict().items()}
    w = torch.empty(4, 5)
    nn.init.normal_(w, 0.5, 0.02)
    v = torch.empty(3)
    nn.init.normal_(v, 0.5, 0.02)
    out["normal_fill"] = bits(w)
    out["normal_small"] = bits(v)
    k = torch.empty(3, 4)
    nn.init.kaiming_uniform_(k, a=0.1)
    out["kaiming_uniform"] = bits(k)
    w = torch.empty(40)
    nn.init.normal_(w, -1.0, 3.0)
    out["normal_fill_wide"] = bits(w)
    base = torch.zeros(4, 5)
    nn.init.normal_(base.t(), 0.0, 1.0)
    out["normal_strided"] = bits(base)
    base = torch.zeros(4, 5)
    nn.init.uniform_(base.t(), -1.0, 2.0)
    out["uniform_strided"] = bits(base)
    out["dropout"] = bits(nn.functional.dropout(torch.ones(40), 0.3, training=True))
    nn.functional.dropout(torch.ones(10), 1.0, training=True)
    out["after_dropout_1"] = bits(torch.rand(1))
    # A generator of its own.
    out["randperm"] = torch.randperm(1000, generator=torch.Generator().manual_seed(seed)).tolist()
    return out


if __name__ == "__main__":
    cases = [draws(seed) for seed in [0, 1, 42, 67280421310721, (1 << 40) + 7]]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "random_streams.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote", path)
