"""Learning rates of chained schedulers in PyTorch, for crates/optim/tests/schedulers.rs
(`chained_schedulers_take_their_base_lr_from_initial_lr`). Run: python3 chained_schedulers.py
Each case builds its schedulers on one SGD, then per epoch calls optimizer.step() and every
scheduler's step() in order; it prints the lr after construction and after each epoch."""

import torch
from torch.optim import SGD
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, MultiStepLR, OneCycleLR, StepLR


def run(lr, build, epochs):
    opt = SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedulers = build(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        for s in schedulers:
            s.step()
        out.append(opt.param_groups[0]["lr"])
    return out


cases = {
    "linear_then_cosine": run(0.1, lambda o: [LinearLR(o, start_factor=0.5, total_iters=2), CosineAnnealingLR(o, T_max=2)], 6),
    "multistep0_then_cosine": run(0.1, lambda o: [MultiStepLR(o, milestones=[0, 3], gamma=0.5), CosineAnnealingLR(o, T_max=3)], 7),
    "onecycle_then_step": run(0.1, lambda o: [OneCycleLR(o, max_lr=1.0, total_steps=10), StepLR(o, step_size=2, gamma=0.5)], 6),
}
for name, lrs in cases.items():
    print(f"{name}: [{', '.join(repr(v) for v in lrs)}]")
