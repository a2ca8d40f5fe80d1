"""Reference values for crates/nn/tests/autograd_tutorial.rs: the code of PyTorch's
"Automatic Differentiation with torch.autograd" tutorial, with its random w and b
printed so that the Rust test can start from the same values.

Run: python3 crates/nn/tests/pytorch/autograd_tutorial.py  (torch 2.15 made the committed values)
"""
import numpy as np
import torch

torch.manual_seed(0)
x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
loss.backward()


def rust(name, t):
    # Shortest digits that round-trip through f32 (what clippy asks of literals).
    vals = ", ".join(repr(np.float32(v)).removeprefix("np.float32(").removesuffix(")") for v in t.detach().flatten().tolist())
    print(f"const {name}: [f32; {t.numel()}] = [{vals}];")


print(f"// torch {torch.__version__}")
rust("W", w)
rust("B", b)
rust("LOSS", loss.reshape(1))
rust("W_GRAD", w.grad)
rust("B_GRAD", b.grad)

