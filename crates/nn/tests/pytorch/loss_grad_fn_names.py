"""grad_fn names of cross entropy and nll_loss in PyTorch, for loss_names_are_pytorchs in
crates/nn/tests/losses.rs. Run: python3 loss_grad_fn_names.py"""

import torch
import torch.nn.functional as F

x = torch.randn(4, 3, requires_grad=True)
y = torch.tensor([0, 1, 2, 1])
w = torch.tensor([1.0, 2.0, 3.0])
x3 = torch.randn(2, 3, 5, requires_grad=True)
y3 = torch.randint(0, 3, (2, 5))
for reduction in ["mean", "sum"]:
    print(reduction, "plain", F.cross_entropy(x, y, reduction=reduction).grad_fn.name())
    print(reduction, "weight", F.cross_entropy(x, y, weight=w, reduction=reduction).grad_fn.name())
    print(reduction, "ignore", F.cross_entropy(x, y, ignore_index=1, reduction=reduction).grad_fn.name())
    print(reduction, "all ignored", F.cross_entropy(x, y * 0 + 1, ignore_index=1, reduction=reduction).grad_fn.name())
    print(reduction, "nll weight", F.nll_loss(x, y, weight=w, reduction=reduction).grad_fn.name())
    print(reduction, "[N, C, d]", F.cross_entropy(x3, y3, reduction=reduction).grad_fn.name())
    print(reduction, "[C]", F.cross_entropy(x[0], y[0], reduction=reduction).grad_fn.name())
    print(reduction, "smoothing", F.cross_entropy(x, y, weight=w, label_smoothing=0.1, reduction=reduction).grad_fn.name())
p = torch.softmax(torch.randn(4, 3), 1)
for reduction in ["mean", "sum", "none"]:
    print(reduction, "probabilities", F.cross_entropy(x, p, reduction=reduction).grad_fn.name())
print("none weight", F.cross_entropy(x, y, weight=w, reduction="none").grad_fn.name())

# The mean over targets that are all ignored is 0 / 0. On x86-64 PyTorch 2.15 gives 0xffc00000 (the
# processor's default NaN, sign bit set) in every case below (all_ignored_mean_is_pytorchs_nan).
import struct

ones = torch.ones(4, dtype=torch.long)
ones3 = torch.ones(2, 5, dtype=torch.long)
nan_cases = {
    "plain": F.cross_entropy(x, ones, ignore_index=1),
    "weight": F.cross_entropy(x, ones, weight=w, ignore_index=1),
    "smoothing": F.cross_entropy(x, ones, ignore_index=1, label_smoothing=0.1),
    "smoothing weight": F.cross_entropy(x, ones, weight=w, ignore_index=1, label_smoothing=0.1),
    "nll": F.nll_loss(x, ones, ignore_index=1),
    "[N, C, d]": F.cross_entropy(x3, ones3, ignore_index=1),
}
for name, loss in nan_cases.items():
    print("all ignored", name, hex(struct.unpack("<I", struct.pack("<f", loss.item()))[0]))
