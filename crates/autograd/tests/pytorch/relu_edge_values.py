"""ReLU at its edge values in PyTorch (CPU), for crates/autograd/tests/tape.rs
(`relu_edge_values_match_pytorch`). Run: python3 relu_edge_values.py
Prints torch.relu's values (with the sign bits of the zeros) and gradient, and
the same through F.relu(F.linear(...)) with one input per row."""

import torch
import torch.nn.functional as F

inf, nan = float("inf"), float("nan")
up = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])

x = torch.tensor([nan, -0.0, 0.0, -1.0, 2.0, -inf, inf], requires_grad=True)
y = torch.relu(x)
y.backward(up)
print("relu:", y.tolist(), "signbit:", torch.signbit(y).tolist())
print("relu grad:", x.grad.tolist())

# One input per row, weight 1e-30: -1e-30 * 1e-30 underflows to -0.0, and
# the -0.0 bias keeps it -0.0.
x = torch.tensor([[nan], [-1e-30], [0.0], [-1.0], [2.0], [-inf], [inf]], requires_grad=True)
w = torch.tensor([[1e-30]], requires_grad=True)
b = torch.tensor([-0.0], requires_grad=True)
y = F.relu(F.linear(x, w, b))
y.backward(up[:, None])
print("linear relu:", y.flatten().tolist(), "signbit:", torch.signbit(y).flatten().tolist())
print("dx:", x.grad.flatten().tolist(), "dw:", w.grad.tolist(), "db:", b.grad.tolist())
