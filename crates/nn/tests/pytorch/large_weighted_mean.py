"""Reference values for `weighted_mean_over_many_targets_matches_pytorch` and
`class_probabilities_with_no_class_do_not_panic` in crates/nn/tests/losses.rs:
F.cross_entropy and F.nll_loss in float32 on the CPU.

Run: python3 crates/nn/tests/pytorch/large_weighted_mean.py
It prints the numbers the test holds as literals (torch 2.15 made them).

The inputs are exact in f32 and rebuilt by the test from the same formulas:
100,000 rows of 3 logits x[i, c] = ((7 i + 3 c) mod 11) / 4 - 1, targets
i mod 3 with every 10th row ignored (-100), class weights [0.1, 0.7, 0.35].
The weighted mean divides by the sum of 90,000 weights, which an f32 running
sum got 6e-4 wrong.
"""

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

N, C = 100_000, 3
i = torch.arange(N).unsqueeze(1)
c = torch.arange(C).unsqueeze(0)
logits = (((7 * i + 3 * c) % 11).float() / 4 - 1).contiguous()
target = torch.arange(N) % 3
target[::10] = -100
weight = torch.tensor([0.1, 0.7, 0.35], dtype=torch.float32)


def show(name, value):
    print(f"{name}: {value!r}")


for smoothing in [0.0, 0.1]:
    x = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(x, target, weight=weight, label_smoothing=smoothing)
    loss.backward()
    show(f"cross_entropy mean, smoothing {smoothing}", loss.item())
    # Rows 1 and 2 (targets 1 and 2); row 0 is ignored.
    show(f"  grad rows 1..3, smoothing {smoothing}", x.grad[1:3].flatten().tolist())

logp = torch.log_softmax(logits, 1).clone().requires_grad_(True)
loss = F.nll_loss(logp, target, weight=weight)
loss.backward()
show("nll_loss mean", loss.item())
show("  grad rows 1..3", logp.grad[1:3].flatten().tolist())

# Class-probability targets with no class (C = 0): NaN mean, -0.0 otherwise;
# with one class every term is 0 and the negated sum -0.0.
x = torch.zeros(2, 0)
for reduction in ["mean", "sum", "none"]:
    show(f"C = 0, {reduction}", F.cross_entropy(x, torch.zeros(2, 0), reduction=reduction).tolist())
show("C = 1, sum", F.cross_entropy(torch.zeros(3, 1), torch.ones(3, 1), reduction="sum").item())
