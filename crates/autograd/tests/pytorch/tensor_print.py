"""Reference strings for crates/autograd/tests/print.rs: what print(tensor) shows
in PyTorch, with its default print options, for tensors of each formatting mode.

Run: python3 crates/autograd/tests/pytorch/tensor_print.py > crates/autograd/tests/pytorch/tensor_print.json
(torch 2.15 made the committed file.)
"""
import json
import math

import torch

torch.manual_seed(0)
cases = {
    "int_mode_2d": torch.eye(4, 5) * 2 + 2,
    "int_mode_negative": torch.tensor([[-1.0, 20.0, 300.0], [0.0, -0.0, 7.0]]),
    "fixed_2d": torch.randn(3, 4),
    "fixed_1d": torch.tensor([0.25, -1.5, 3.125]),
    "sci_small": torch.tensor([1.0e-5, 0.5, 2.0]),
    "sci_ratio": torch.tensor([0.001, 1.5, 2000.0]),
    "sci_large_int": torch.tensor([1.0, 3.0e8]),
    "int_ratio": torch.tensor([1.0, 5000.0]),
    "scalar": torch.tensor(0.6818513),
    "scalar_int": torch.tensor(3.0),
    "zeros": torch.zeros(2, 3),
    "nonfinite": torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
    "nonfinite_int": torch.tensor([float("nan"), 2.0, -float("inf")]),
    "long_row": torch.arange(30, dtype=torch.float32) / 7,
    "long_int_row": torch.arange(40, dtype=torch.float32),
    "three_d": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) - 11.5,
    "summarized_1d": torch.arange(2000, dtype=torch.float32) / 4,
    "summarized_2d": torch.arange(1200, dtype=torch.float32).reshape(40, 30),
    "empty": torch.zeros(0),
    "tiny_and_half": torch.tensor([1.0e-4, 0.5]),
    "rounding": torch.tensor([0.00005, 0.12345, 2.5, 1.0]),
}
out = {}
for name, t in cases.items():
    out[name] = {"shape": list(t.shape), "values": [v if math.isfinite(v) else str(v) for v in t.flatten().tolist()], "str": str(t)}
w = torch.randn(2, 2, requires_grad=True)
out["requires_grad"] = {"shape": [2, 2], "values": w.detach().flatten().tolist(), "str": str(w), "requires_grad": True}
print(json.dumps(out, indent=1))
