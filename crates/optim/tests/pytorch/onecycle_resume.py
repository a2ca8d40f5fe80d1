"""OneCycleLR leaving the optimizer's hyperparameters out of their constructor's range, then a
save and load, in PyTorch, for crates/optim/tests/resume.rs
(`a_state_whose_one_cycle_left_the_momentum_out_of_range_loads`). Run: python3 onecycle_resume.py
Gradients are set by hand, g = 2·w·(p - 1) with w = [1, 2, 3], in float32. It prints the group's
lr and momentum after the scheduler's steps, then the parameters after one more optimizer step
from a fresh optimizer that loaded the state dict (PyTorch does not check what it loads)."""

import torch
from torch.optim import SGD, Adam
from torch.optim.lr_scheduler import OneCycleLR

w = torch.tensor([1.0, 2.0, 3.0])


def grad(p):
    return 2 * w * (p.detach() - 1)


def run(make_opt, make_sched, steps, momentum_of):
    p = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    opt = make_opt(p)
    sched = make_sched(opt)
    for _ in range(steps):
        p.grad = grad(p)
        opt.step()
        sched.step()
    group = opt.param_groups[0]
    saved = opt.state_dict()
    fresh_p = torch.tensor(p.detach().tolist(), requires_grad=True)
    fresh = make_opt(fresh_p)
    fresh.load_state_dict(saved)
    fresh_p.grad = grad(fresh_p)
    fresh.step()
    return group["lr"], momentum_of(group), fresh_p.tolist()


# Linear anneal: the last step (step_num == total_steps) extrapolates past the
# second phase, to a negative lr and a beta1 of 1.04.
adam = run(
    lambda p: Adam([p], lr=0.01),
    lambda o: OneCycleLR(o, max_lr=0.1, total_steps=4, anneal_strategy="linear", max_momentum=0.99),
    4,
    lambda g: g["betas"][0],
)
# base_momentum 0: at the peak (step 2 of 10) a Nesterov SGD has momentum 0.
sgd = run(
    lambda p: SGD([p], lr=0.1, momentum=0.9, nesterov=True),
    lambda o: OneCycleLR(o, max_lr=0.5, total_steps=10, base_momentum=0.0),
    2,
    lambda g: g["momentum"],
)
for name, (lr, momentum, params) in [("adam_linear", adam), ("sgd_nesterov", sgd)]:
    print(f"{name}: lr {lr!r}, momentum {momentum!r}, params after one more step {params!r}")
