"""Reference values for crates/nn/tests/bce.rs: F.binary_cross_entropy_with_logits
and F.binary_cross_entropy in float32 on the CPU (the dtype ferrograd computes in),
with the loss and the gradients with respect to input and target of every case.

Run: python3 crates/nn/tests/pytorch/bce_reference.py
It writes bce_reference.json next to itself (torch 2.15 made the committed file).
Infinities and NaNs are written as the strings "inf", "-inf" and "nan" (JSON has
no such numbers). For reduction "none", the gradients are those of
sum(loss * grad_output), with grad_output in the case.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def encode(t):
    def one(v):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v

    t = t.detach()
    return {"shape": list(t.shape), "data": [one(v) for v in t.flatten().tolist()]}


def grid(rows, cols, f):
    return torch.tensor([[f(i, j) for j in range(cols)] for i in range(rows)], dtype=torch.float32)


def run(fn, name, input, target, reduction, weight=None, pos_weight=None):
    x = input.clone().requires_grad_(True)
    y = target.clone().requires_grad_(True)
    kwargs = {"weight": weight, "reduction": reduction}
    if pos_weight is not None:
        kwargs["pos_weight"] = pos_weight
    loss = fn(x, y, **kwargs)
    case = {"name": name, "reduction": reduction, "input": encode(input), "target": encode(target)}
    if weight is not None:
        case["weight"] = encode(weight)
    if pos_weight is not None:
        case["pos_weight"] = encode(pos_weight)
    if reduction == "none":
        grad_output = torch.linspace(0.5, 1.5, loss.numel()).reshape(loss.shape)
        case["grad_output"] = encode(grad_output)
        (loss * grad_output).sum().backward()
    else:
        loss.backward()
    case["loss"] = encode(loss)
    case["input_grad"] = encode(x.grad)
    case["target_grad"] = encode(y.grad)
    return case


# [4, 3] logits in about [-3, 3], hard and soft targets, weights of three shapes.
logits = grid(4, 3, lambda i, j: 3.0 * math.sin(1.3 * i + 0.7 * j + 0.2))
hard = grid(4, 3, lambda i, j: float((i + 2 * j) % 3 == 0))
soft = grid(4, 3, lambda i, j: 0.5 + 0.45 * math.cos(0.9 * i - 1.1 * j))
full_weight = grid(4, 3, lambda i, j: 0.25 + 0.5 * ((i * 3 + j) % 5))
class_weight = torch.tensor([0.5, 2.0, 1.25])
row_weight = torch.tensor([[1.0], [0.0], [3.0], [0.5]])
pos_weight = torch.tensor([3.0, 0.5, 1.0])
# Every |logit| regime: ±1e4 overflows exp in float32, ±100 underflows it.
extreme = torch.tensor([[100.0, -100.0, 1e4], [-1e4, 20.0, -20.0]])
extreme_target = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
extreme_soft = torch.tensor([[0.3, 0.7, 0.5], [0.5, 0.9, 0.1]])

logit_cases = []
for reduction in ["mean", "sum", "none"]:
    logit_cases += [
        run(F.binary_cross_entropy_with_logits, "hard", logits, hard, reduction),
        run(F.binary_cross_entropy_with_logits, "soft", logits, soft, reduction),
        run(F.binary_cross_entropy_with_logits, "full weight", logits, soft, reduction, weight=full_weight),
        run(F.binary_cross_entropy_with_logits, "class weight", logits, hard, reduction, weight=class_weight),
        run(F.binary_cross_entropy_with_logits, "row weight", logits, soft, reduction, weight=row_weight),
        run(F.binary_cross_entropy_with_logits, "pos_weight", logits, hard, reduction, pos_weight=pos_weight),
        run(F.binary_cross_entropy_with_logits, "pos_weight soft", logits, soft, reduction, pos_weight=pos_weight),
        run(
            F.binary_cross_entropy_with_logits,
            "pos_weight and weight",
            logits,
            soft,
            reduction,
            weight=row_weight,
            pos_weight=pos_weight,
        ),
        run(F.binary_cross_entropy_with_logits, "extreme", extreme, extreme_target, reduction),
        run(F.binary_cross_entropy_with_logits, "extreme soft", extreme, extreme_soft, reduction),
        run(
            F.binary_cross_entropy_with_logits,
            "extreme pos_weight",
            extreme,
            extreme_soft,
            reduction,
            pos_weight=pos_weight,
        ),
        run(F.binary_cross_entropy_with_logits, "0-d", torch.tensor(-0.75), torch.tensor(0.25), reduction),
    ]

probs = torch.sigmoid(logits)
# 0 and 1 exactly (log gives -inf: clamped at -100), values whose log is below -100
# (1e-44, subnormal), and values one float32 step from 0 and 1.
edge_probs = torch.tensor([[0.0, 1.0, 0.0, 1.0], [1e-44, 1e-30, 1.0 - 2.0**-24, 2.0**-24], [0.5, 1e-7, 0.999, 1e-3]])
edge_target = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 0.5, 0.5, 0.0], [1.0, 1.0, 0.0, 0.25]])

prob_cases = []
for reduction in ["mean", "sum", "none"]:
    prob_cases += [
        run(F.binary_cross_entropy, "hard", probs, hard, reduction),
        run(F.binary_cross_entropy, "soft", probs, soft, reduction),
        run(F.binary_cross_entropy, "class weight", probs, soft, reduction, weight=class_weight),
        run(F.binary_cross_entropy, "full weight", probs, hard, reduction, weight=full_weight),
        run(F.binary_cross_entropy, "edges", edge_probs, edge_target, reduction),
        run(F.binary_cross_entropy, "0-d", torch.tensor(0.125), torch.tensor(0.75), reduction),
    ]

out = {
    "torch": torch.__version__,
    "binary_cross_entropy_with_logits": logit_cases,
    "binary_cross_entropy": prob_cases,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bce_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, allow_nan=False)
    f.write("\n")
print(f"wrote {len(logit_cases)} + {len(prob_cases)} cases to {path}")
