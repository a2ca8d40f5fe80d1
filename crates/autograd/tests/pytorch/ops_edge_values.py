"""Edge values of pow and div in PyTorch (CPU), for crates/autograd/tests/ops_edge_values.rs.
Run: python3 ops_edge_values.py"""

import torch

inf, nan = float("inf"), float("nan")


def show(name, t):
    t = t.detach()
    print(f"{name}: shape {list(t.shape)}, values {t.flatten().tolist()}, signbit {torch.signbit(t).flatten().tolist()}")


# pow: exponents PyTorch special-cases (sqrt, products, quotients) at edge values.
x = torch.tensor([-inf, -0.0, 0.0, 7.0, 0.1, 3.0, inf, nan])
for p in [0.5, 2.0, 3.0, -0.5, -1.0, -2.0, 0.0, 1.5]:
    show(f"pow {p}", x.pow(p))

# pow's gradient, with exponent 0 (0 everywhere) and 0.5 (through rsqrt).
for p in [0.0, 0.5, 3.0]:
    x = torch.tensor([0.0, -0.0, 2.0, -1.0, nan, inf], requires_grad=True)
    x.pow(p).backward(torch.ones(6))
    show(f"pow {p} grad", x.grad)

# div's gradient with respect to the divisor: -g * ((a / b) / b).
a = torch.tensor([1e-20, 1e20, 3.0], requires_grad=True)
b = torch.tensor([1e-25, 1e25, 7.0], requires_grad=True)
(a / b).backward(torch.ones(3))
show("div grad a", a.grad)
show("div grad b", b.grad)
