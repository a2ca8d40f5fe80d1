"""arange, abs, clamp and whole-tensor max/min in PyTorch (CPU, float32), for
crates/autograd/tests/more_ops.rs. Prints the expected values as Rust literals
(shortest round-trip f32 digits). Run: python3 more_ops.py"""

import numpy as np
import torch

nan, inf = float("nan"), float("inf")


def lit(v):
    """A Rust f32 literal for v: NAN, INF, -INF, or its shortest round-trip digits."""
    v = np.float32(v)
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INF" if v > 0 else "-INF"
    s = repr(v).removeprefix("np.float32(").removesuffix(")")
    return s if any(c in s for c in ".e") else s + ".0"


def lits(t):
    return "[" + ", ".join(lit(v) for v in t.detach().flatten().tolist()) + "]"


def opt(v):
    return "None" if v is None else f"Some({lit(v)})"


def fnv1a(t):
    """FNV-1a (64-bit) over the values' f32 bits, little-endian bytes."""
    h = 0xCBF29CE484222325
    for b in t.detach().numpy().astype(np.float32).tobytes():
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return f"0x{h:016x}"


print("// arange(start, end, step) with f64 bounds (Python floats): (start, end, step, values)")
for start, end, step in [
    (0, 1, 0.1), (0, 0.3, 0.1), (-1, 1, 0.2), (5, 0, -1.5), (0, 10, 3), (1, 2.5, 0.5),
    (0, 5, 0.7), (10, -10, -0.3), (0.1, 3.3, 0.05), (-0.0, -20, -1), (2, 2.5, 1), (0, 0, 1), (3, 3, -1),
    # Fused multiply-adds: in the vector part, a lane (index 5) and a vector's first value (index 24).
    (-1, 3, 0.2), (-(0.1 * 24), 1.6, 0.1),
]:
    t = torch.arange(start, end, step, dtype=torch.float32)
    print(f"({float(start)!r}, {float(end)!r}, {float(step)!r}, &{lits(t)}),")

print("// arange with f32 bounds: torch given the same (widened) f32 values")
for start, end, step in [(0, 0.3, 0.1), (0, 1, 0.1), (-1, 1, 0.2)]:
    a, b, c = (float(np.float32(v)) for v in (start, end, step))
    t = torch.arange(a, b, c, dtype=torch.float32)
    print(f"({lit(start)}, {lit(end)}, {lit(step)}, &{lits(t)}),")

print("// long aranges: (start, end, step, len, FNV-1a of the f32 bits, [values at 0, 1000, 12345, len - 1])")
torch.set_num_threads(1)  # past 32768 values torch's values depend on its thread count
for start, end, step in [(-3.7, 500.0, 0.0173), (0.1234, 1000.0, 0.0301), (250.0, -1.0, -0.0077)]:
    t = torch.arange(start, end, step, dtype=torch.float32)
    n = len(t)
    at = ", ".join(lit(t[i].item()) for i in [0, 1000, 12345, n - 1])
    print(f"({start!r}, {end!r}, {step!r}, {n}, {fnv1a(t)}, [{at}]),")

print("// abs: x, values, gradient for the upstream gradient g")
x = torch.tensor([-2.0, -0.0, 0.0, 3.0, nan, -inf, inf, -1e-45], requires_grad=True)
g = torch.tensor([1.0, inf, 2.0, -1.5, 1.0, 3.0, 4.0, nan])
y = x.abs()
y.backward(g)
print(f"x {lits(x)}\ng {lits(g)}\nvalues {lits(y)}\ngrad {lits(x.grad)}")

print("// clamp(min, max) on x with upstream gradient g: (min, max, values, grad)")
xs = [-inf, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, inf, nan]
g = torch.tensor([0.5 * (i + 1) for i in range(len(xs))])
print(f"x {lits(torch.tensor(xs))}\ng {lits(g)}")
for lo, hi in [
    (-1.0, 1.0), (1.0, -1.0), (None, 0.5), (0.5, None), (0.0, 0.0), (-0.0, -0.0), (-1.0, -1.0),
    (nan, 1.0), (0.0, nan), (None, nan), (-inf, inf), (None, -0.0), (0.0, None),
]:
    x = torch.tensor(xs, requires_grad=True)
    y = x.clamp(lo, hi)
    y.backward(g)
    # clamp_min / clamp_max give the same values and gradient.
    if hi is None or lo is None:
        x2 = torch.tensor(xs, requires_grad=True)
        y2 = x2.clamp_min(lo) if hi is None else x2.clamp_max(hi)
        y2.backward(g)
        assert torch.equal(y.nan_to_num(7), y2.nan_to_num(7)) and torch.equal(x.grad, x2.grad)
        assert torch.equal(torch.signbit(y), torch.signbit(y2))
    print(f"({opt(lo)}, {opt(hi)}, {lits(y)}, {lits(x.grad)}),")

print("// max() and min(): (x, shape, upstream g, max, grad of max, min, grad of min)")
for v, shape, gv in [
    ([1.0, 3.0, 3.0], [3], 1.0),
    ([1.0, 1.0, 3.0, 1.0], [4], 1.0),
    ([1.0, nan, 3.0, nan], [4], 1.0),
    ([2.0, -1.0, 5.0, 5.0, 0.0, 5.0], [2, 3], 1.0),
    ([2.0, -1.0, 5.0, 5.0, -1.0, 5.0], [2, 3], -2.0),
    ([5.0], [], 3.0),
    ([inf, inf, 1.0], [3], 1.0),
    ([-inf, 2.0, -inf, -inf], [4], 1.0),
    ([-0.0, 0.0], [2], 1.0),
    ([0.0, -0.0], [2], 1.0),
    ([-0.0, 0.0, -0.0], [3], 3.0),
    ([0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0], [7], 1.0),
    ([float((i * 7) % 5) for i in range(20)], [4, 5], 1.0),
    ([nan, nan, nan], [3], 1.0),
]:
    row = []
    for op in ["max", "min"]:
        x = torch.tensor(v, requires_grad=True)
        y = getattr(x.reshape(shape), op)()
        y.backward(torch.tensor(gv))
        row += [lit(y.item()), lits(x.grad)]
    print(f"(&{lits(torch.tensor(v))}, &{list(shape)}, {lit(gv)}, {row[0]}, &{row[1]}, {row[2]}, &{row[3]}),")

print("// max()/min() of a transposed view of a [2, 3] leaf: (max, grad, min, grad)")
row = []
for op in ["max", "min"]:
    x = torch.tensor([[4.0, -1.0, 4.0], [0.0, 4.0, -1.0]], requires_grad=True)
    y = getattr(x.t(), op)()
    y.backward()
    row += [lit(y.item()), lits(x.grad)]
print(f"({row[0]}, &{row[1]}, {row[2]}, &{row[3]}),")

print("// errors")
for args in [(0, 1, 0), (0, 1, -0.0), (0, 1, nan), (0, 1, inf), (0, inf, 1), (nan, 1, 1), (0, 1, -1), (1, 0, 1)]:
    try:
        torch.arange(*args)
    except RuntimeError as e:
        print(f"arange{args}: {e}")
for shape in [[0], [2, 0]]:
    for op in ["max", "min"]:
        try:
            getattr(torch.zeros(shape), op)()
        except RuntimeError as e:
            print(f"{op} of shape {shape}: {e}")
try:
    torch.zeros(2).clamp()
except RuntimeError as e:
    print(f"clamp(): {e}")
