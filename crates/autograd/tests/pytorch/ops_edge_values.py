"""Edge values of pow, div and ops along a dim of a 0-d tensor in PyTorch (CPU), for
crates/autograd/tests/ops_edge_values.rs. Run: python3 ops_edge_values.py"""

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

# Ops along dim 0 or -1 of a 0-d tensor: a dim of size 1, the result 0-d.
for dim in [0, -1]:
    for keepdim in [False, True]:
        x = torch.tensor(3.0, requires_grad=True)
        show(f"sum dim {dim} keepdim {keepdim}", x.sum(dim, keepdim=keepdim))
        show(f"mean dim {dim} keepdim {keepdim}", x.mean(dim, keepdim=keepdim))
        v, i = x.max(dim, keepdim=keepdim)
        show(f"max dim {dim} keepdim {keepdim}", v)
        show(f"argmax dim {dim} keepdim {keepdim}", i)
    x = torch.tensor(3.0, requires_grad=True)
    show(f"softmax dim {dim}", x.softmax(dim))
    show(f"log_softmax dim {dim}", x.log_softmax(dim))
    out = 2 * x.softmax(dim) + 3 * x.log_softmax(dim) + 5 * x.sum(dim) + 7 * x.mean(dim) + 11 * x.max(dim)[0]
    out = out + 13 * x.gather(dim, torch.tensor(0))
    out.backward()
    show(f"grad of 2 softmax + 3 log_softmax + 5 sum + 7 mean + 11 max + 13 gather, dim {dim}", x.grad)

# A scalar over a tensor: __rtruediv__ is reciprocal(x) * s (bits of the values and of the gradient).
import struct

bits = lambda t: ", ".join(f"0x{struct.unpack('<I', struct.pack('<f', v))[0]:08x}" for v in t.detach().flatten().tolist())
x = torch.tensor([7.0, 3.0, 0.1, -1.7, 1e-39, 2e-39, 0.0, -0.0, 1e30, inf, 11.0, 13.0], requires_grad=True)
y = 3.0 / x
print("3 / x grad_fn", y.grad_fn.name(), y.grad_fn.next_functions[0][0].name())
y.backward(torch.tensor([1.0, -2.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 3.0]))
print("3 / x bits", bits(y))
print("d(3 / x) bits", bits(x.grad))
z = 2.0 - x
print("2 - x grad_fn", z.grad_fn.name(), "values", z.detach()[:4].tolist())
