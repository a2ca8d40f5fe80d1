"""Optimizer steps in float32, as PyTorch takes them on the CPU, for
crates/optim/tests/f32_steps.rs: a check that our updates round as PyTorch's
do (bit for bit), not only that they follow the same formulas.
Run: python3 f32_steps.py > f32_steps.json

Each case gives the optimizer and its options, the initial parameter, and per
step the gradient set before `step()` and the parameter after it. 67 values:
PyTorch's vectorized loop takes them 16 (AVX-512) or 8 (AVX2) at a time and
the rest one by one, so both paths are exercised. Gradients are random each
step, so every step rounds differently."""

import json
import platform

import torch

N = 67
STEPS = 6

CASES = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.01, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "alpha": 0.9}),
    ("Adagrad", {"lr": 0.01}),
    ("Adagrad", {"lr": 0.01, "weight_decay": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]


def main():
    torch.manual_seed(20261206)
    cases = []
    for name, options in CASES:
        p = torch.randn(N, dtype=torch.float32, requires_grad=True)
        initial = p.detach().clone()
        opt = getattr(torch.optim, name)([p], **options)
        steps = []
        for _ in range(STEPS):
            grad = torch.randn(N, dtype=torch.float32) * 0.5
            p.grad = grad.clone()
            opt.step()
            steps.append({"grad": grad.tolist(), "param": p.detach().tolist()})
        cases.append({"optimizer": name, "options": options, "param": initial.tolist(), "steps": steps})
    out = {
        "generated_by": f"f32_steps.py, torch {torch.__version__}, {platform.machine()}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}",
        "cases": cases,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
