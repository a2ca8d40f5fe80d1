"""Reference values for `large_logits_keep_their_small_log_probabilities` in
crates/autograd/tests/more_ops.rs: log_softmax, softmax and cross entropy of
large logits (each value printed as torch 2.15 computed it), and squeeze of a
dim whose size is not 1. Run: python3 crates/autograd/tests/pytorch/softmax_large_logits.py
"""
import torch
import torch.nn.functional as F

print(f"// torch {torch.__version__}")
for row in ([100.0, 90.0], [1000.0, 985.0], [-50.0, 30.0, 29.5]):
    x = torch.tensor(row, requires_grad=True)
    y = torch.log_softmax(x, 0)
    y.backward(torch.ones_like(y))
    print(f"log_softmax({row}) = {y.tolist()}; grad of sum = {x.grad.tolist()}")
    x = torch.tensor(row, requires_grad=True)
    p = torch.softmax(x, 0)
    p[0].backward()
    print(f"softmax({row}) = {p.tolist()}; grad of [0] = {x.grad.tolist()}")
    x = torch.tensor([row], requires_grad=True)
    loss = F.cross_entropy(x, torch.tensor([0]))
    loss.backward()
    print(f"cross_entropy([{row}], [0]) = {loss.item()!r}; grad = {x.grad[0].tolist()}")
x = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
y = x.squeeze(1)
(y * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
print(f"squeeze(1) of shape [1, 3]: shape {list(y.shape)}, grad {x.grad.tolist()}")
