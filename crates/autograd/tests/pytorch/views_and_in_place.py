"""Views (narrow, select), torch.cat and in-place writes through views in PyTorch (CPU), for
crates/autograd/tests/views_and_in_place.rs. Run: python3 views_and_in_place.py"""

import torch


def show(name, t):
    t = t.detach()
    print(f"{name}: shape {list(t.shape)}, stride {list(t.stride())}, "
          f"contiguous {t.is_contiguous()}, values {t.flatten().tolist()}")


# The "Tensors" tutorial of Learn the Basics, its indexing, cat and add_ lines.
tensor = torch.ones(4, 4)
show("tutorial first row", tensor[0])
show("tutorial first column", tensor[:, 0])
show("tutorial last column", tensor[..., -1])
tensor[:, 1] = 0
show("tutorial tensor[:, 1] = 0", tensor)
show("tutorial cat dim 1", torch.cat([tensor, tensor, tensor], dim=1))
tensor.add_(5)
show("tutorial add_(5)", tensor)

# Views of a transposed (non-contiguous) tensor: strides as torch's, in elements.
x = torch.arange(24.0).reshape(2, 3, 4)
v = x.transpose(0, 2)  # [4, 3, 2]
show("v.narrow(0, 1, 2)", v.narrow(0, 1, 2))
show("v.narrow(-1, 1, 1)", v.narrow(-1, 1, 1))
show("v.select(1, -1)", v.select(1, -1))
show("v.select(-1, 0)", v.select(-1, 0))
show("x.select(0, 1).narrow(0, 1, 2)", x.select(0, 1).narrow(0, 1, 2))
show("x[..., -1]", x[..., -1])
show("x.narrow(1, 2, 0)", x.narrow(1, 2, 0))

# In-place writes through views reach the base; copy_ reads its source first.
x = torch.arange(12.0).reshape(3, 4)
x.t().narrow(0, 1, 2).fill_(-1)  # columns 1 and 2
x.select(1, -1).add_(10)  # last column
x[:, 0].copy_(torch.tensor([7.0, 8.0, 9.0]))
x.select(0, 2).narrow(0, 1, 2).copy_(torch.tensor(0.5))  # broadcast
x.t().select(0, 3).copy_(x.select(1, 0))  # column 3 = column 0 (same storage)
show("writes through views", x)

# cat along each dim, with a transposed input.
a = torch.arange(6.0).reshape(2, 3)
b = torch.arange(6.0, 12.0).reshape(3, 2).t()  # [2, 3], non-contiguous
for dim in [0, 1, -1, -2]:
    show(f"cat a b dim {dim}", torch.cat([a, b], dim))
p = torch.arange(12.0).reshape(2, 3, 2)
q = torch.arange(100.0, 108.0).reshape(2, 2, 2).transpose(1, 2)  # [2, 2, 2]
show("cat 3-d dim 1", torch.cat([p, q.narrow(1, 0, 1), p], 1))

# Gradients through narrow, select and cat, each input's slice of the output's.
x = torch.arange(12.0).reshape(3, 4).requires_grad_(True)
y = torch.cat([x.narrow(1, 1, 2), x.select(1, 0).unsqueeze(1), x.t().select(0, -1).unsqueeze(1)], dim=1)
w = torch.arange(1.0, 13.0).reshape(3, 4)
(y * w).sum().backward()
show("grad of cat(narrow, select, select of t)", x.grad)

# What the in-place ops refuse, and the version counter they bump (messages only).
for name, op in [
    ("fill_ on a leaf that requires grad", lambda w: w.fill_(0)),
    ("add_(5) on a leaf that requires grad", lambda w: w.add_(5)),
    ("fill_ on a view of a leaf that requires grad", lambda w: w.t()[:, 0].fill_(0)),
]:
    try:
        op(torch.ones(2, 2, requires_grad=True))
    except RuntimeError as e:
        print(f"{name}: RuntimeError: {e}")
with torch.no_grad():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.add_(1)
    w.narrow(0, 1, 2).fill_(0)
show("under no_grad: w.add_(1); w.narrow(0, 1, 2).fill_(0)", w)
w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
x = torch.tensor([4.0, 5.0, 6.0])
loss = (x * w).sum()
x[1].fill_(0)
try:
    loss.backward()
except RuntimeError as e:
    print(f"x changed in place after x * w: RuntimeError: {e}")
