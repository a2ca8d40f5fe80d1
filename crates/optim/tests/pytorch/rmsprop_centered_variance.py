"""Centered RMSprop's variance v - ḡ² where ḡ² is within an ulp of v, in PyTorch, for
crates/optim/tests/optimizers.rs (`centered_rmsprop_rounds_the_variance_once`).
Run: python3 rmsprop_centered_variance.py
PyTorch computes `square_avg.addcmul(grad_avg, grad_avg, value=-1)` with a fused multiply-add
on the CPU (one rounding). With alpha = 1 a step leaves both averages as they were, so the step
that follows loading them divides by sqrt(v - ḡ²) + eps of exactly the loaded values. The
averages are 1 + k·2⁻²³ (ḡ) and ḡ² rounded up to float32 (v): the true difference is
0.3996·2⁻²³ and 0.0993·2⁻²³, where rounding ḡ² first gives 0 (and a step of lr / eps). The
third element is an ordinary one."""

import torch

ulp = 2.0**-23
grad_avg = torch.tensor([1 + 3664 * ulp, 1 + 3993 * ulp, 0.5], dtype=torch.float32)
# float32(ḡ²), rounded once from the exact square (f64 holds it exactly).
square_avg = (grad_avg.double() ** 2).float()
square_avg[2] = 0.5
print("square_avg", square_avg.tolist(), "grad_avg", grad_avg.tolist())
print("exact v - g_avg^2", (square_avg.double() - grad_avg.double() ** 2).tolist())

p = torch.zeros(3, requires_grad=True)
opt = torch.optim.RMSprop([p], lr=0.01, alpha=1.0, centered=True)
p.grad = torch.ones(3)
opt.step()  # makes the state
with torch.no_grad():
    p.zero_()
    opt.state[p]["square_avg"].copy_(square_avg)
    opt.state[p]["grad_avg"].copy_(grad_avg)
opt.step()
print("params", p.tolist())
