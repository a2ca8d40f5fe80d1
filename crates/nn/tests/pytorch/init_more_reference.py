"""Reference values for nn::init's trunc_normal_, orthogonal_ and dirac_ (the unit tests
in crates/nn/src/init.rs and crates/nn/tests/init_more.rs), as torch computes them.

Run: python3 crates/nn/tests/pytorch/init_more_reference.py
It writes init_more_reference.json next to itself (torch 2.15 made the committed file).

The draws themselves are checked elsewhere (random_streams.py: our generator is torch's);
this file pins down what is deterministic given the draws:
- orthogonal: fixed float32 matrices (drawn as orthogonal_ draws them, from a seeded
  torch.Generator) and the result of torch's steps (transpose if wide, QR, times
  sign(diag(r)), transpose back, times gain) in float64; the script checks that the same
  steps in float32 reproduce torch's orthogonal_ bit for bit, so they are torch's steps.
  Two explicit matrices hit LAPACK's special cases (a column already reduced, a zero column).
- trunc_normal: torch 2.15 samples by rejection (redrawn normals when the window holds
  more than 0.3 of the mass, else uniform proposals accepted against the normal density).
  For a few seeded calls the script replays torch's draws, checks that the replay gives
  torch's output bit for bit, and records each element's draws up to the one accepted,
  so the Rust sampler can be fed the same draws. Also: math.erf on a grid, the window's
  mass p of each case, and the truncated normal's mean and std (the standard formulas)
  for the moment checks.
- dirac: torch's output for several shapes and groups.
"""

import json
import math
import os

import torch
from torch.nn import init

torch.set_num_threads(1)


def flat(t):
    return [float(v) for v in t.flatten().tolist()]


# ---- orthogonal_ ----


def orthogonalize(m, gain):
    """torch.nn.init.orthogonal_'s steps after the draw, on a (rows, cols) matrix."""
    rows, cols = m.shape
    x = m.t() if rows < cols else m
    q, r = torch.linalg.qr(x)
    q = q * torch.diag(r, 0).sign()
    if rows < cols:
        q = q.t()
    return q * gain


orthogonal_cases = []
for seed, shape, gain in [
    (1, (4, 4), 1.0),
    (2, (6, 3), 1.0),
    (3, (3, 6), 2.0),
    (4, (5, 2, 3), 1.0),  # rows 5, cols 6: wide
    (5, (4, 2, 2, 2), math.sqrt(2.0)),  # rows 4, cols 8
    (6, (12, 2, 1), 0.5),  # rows 12, cols 2: tall
    (7, (1, 5), 1.0),
    (8, (5, 1), 1.0),
]:
    rows = shape[0]
    cols = math.prod(shape) // rows
    drawn = torch.empty(rows, cols).normal_(0, 1, generator=torch.Generator().manual_seed(seed))
    t = torch.empty(shape)
    init.orthogonal_(t, gain, generator=torch.Generator().manual_seed(seed))
    replay = orthogonalize(drawn, gain).reshape(shape)
    assert torch.equal(t, replay), f"orthogonal_ replay differs for {shape}"
    orthogonal_cases.append({
        "name": f"seed {seed} {list(shape)}",
        "rows": rows,
        "cols": cols,
        "gain": gain,
        "input": flat(drawn),
        "expected": flat(orthogonalize(drawn.double(), gain)),
        "torch_float32": flat(t),
    })
for name, m in [
    ("first column already reduced", [[-2.0, 1.0], [0.0, 3.0], [0.0, 4.0]]),
    ("zero column", [[1.0, 0.0, 2.0], [0.0, 0.0, 1.0], [3.0, 0.0, 0.0]]),
]:
    m = torch.tensor(m, dtype=torch.float64)
    orthogonal_cases.append({
        "name": name,
        "rows": m.shape[0],
        "cols": m.shape[1],
        "gain": 1.0,
        "input": flat(m),
        "expected": flat(orthogonalize(m, 1.0)),
    })

# ---- trunc_normal_ ----


def norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def replay_trunc_normal(n, mean, std, a, b, g):
    """torch 2.15's _no_grad_trunc_normal_ on a float32 tensor of n elements, drawing in
    the same order; returns the output and, per element, its draws up to the accepted one
    (candidates; in the uniform branch with the uniform that decided each)."""
    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    per_element = [[] for _ in range(n)]
    if p > 0.3:
        lo = torch.tensor(a, dtype=torch.float32).item()
        hi = torch.tensor(b, dtype=torch.float32).item()
        result = torch.empty(n).normal_(mean, std, generator=g)
        pending = torch.ones(n, dtype=torch.bool)
        draw = result
        while True:
            for i in range(n):
                if pending[i]:
                    per_element[i].append(float(draw[i]))
            mask = (result < lo) | (result > hi)
            pending = mask
            if not mask.any():
                break
            draw = torch.empty(n).normal_(mean, std, generator=g)
            result = torch.where(mask, draw, result)
        return "normal", p, result, per_element
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2

    def log_pdf(c):
        return c.clone().sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)

    result = torch.empty(n).uniform_(a, b, generator=g)
    u = torch.empty(n).uniform_(generator=g)
    pending = u.log().gt(log_pdf(result))
    for i in range(n):
        per_element[i].append([float(result[i]), float(u[i])])
    while pending.any():
        cand = torch.empty(n).uniform_(a, b, generator=g)
        result = torch.where(pending, cand, result)
        u = torch.empty(n).uniform_(generator=g)
        for i in range(n):
            if pending[i]:
                per_element[i].append([float(cand[i]), float(u[i])])
        pending = torch.where(pending, u.log().gt(log_pdf(cand)), pending)
    return "uniform", p, result, per_element


def truncated_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = norm_cdf(beta) - norm_cdf(alpha)

    def pdf(x):
        return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)

    m = (pdf(alpha) - pdf(beta)) / z
    var = 1.0 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - m * m
    return mean + std * m, std * math.sqrt(var)


trunc_cases = []
for seed, (mean, std, a, b) in enumerate([
    (0.0, 1.0, -2.0, 2.0),  # torch's defaults: redrawn normals
    (1.0, 0.5, 0.0, 3.0),
    (0.0, 1.0, 1.0, 3.0),  # p = 0.157: uniform proposals
    (0.0, 1.0, -0.1, 0.1),
    (2.0, 0.5, -1.0, 1.5),  # mean above b
    (0.0, 1.0, 5.0, 6.0),  # far tail (torch warns)
    (0.5, 2.0, -1.0, 4.0),
    (0.0, 0.02, -0.04, 0.04),  # timm/ViT's trunc_normal_(std=.02) with a=-2std, b=2std
]):
    n = 24
    g = torch.Generator().manual_seed(100 + seed)
    t = torch.empty(n)
    init.trunc_normal_(t, mean, std, a, b, generator=g)
    branch, p, replay, per_element = replay_trunc_normal(n, mean, std, a, b, torch.Generator().manual_seed(100 + seed))
    assert torch.equal(t, replay), f"trunc_normal_ replay differs for {(mean, std, a, b)}"
    tm, ts = truncated_moments(mean, std, a, b)
    trunc_cases.append({
        "mean": mean,
        "std": std,
        "a": a,
        "b": b,
        "p": p,
        "branch": branch,
        "truncated_mean": tm,
        "truncated_std": ts,
        "draws": per_element,
        "torch_output": flat(t),
    })

erf_xs = [-30.0, -7.0, -6.0, -5.9, -4.0, -3.5, -3.0, -2.99, -2.0, -1.0, -0.5, -1e-3, 0.0, 1e-10, 0.1, 0.3,
          0.5, 0.9, 1.0, 1.4142135623730951, 1.5, 2.0, 2.5, 2.99, 3.0, 3.01, 3.5, 4.0, 5.0, 5.9, 6.0, 6.5, 30.0]
erf = [[x, math.erf(x)] for x in erf_xs]

# ---- dirac_ ----

dirac_cases = []
for shape, groups in [
    ((4, 4, 3), 1),
    ((3, 5, 4), 1),  # fewer outputs than inputs; even kernel
    ((6, 4, 3, 3), 1),  # more outputs than inputs
    ((6, 4, 3, 3), 2),
    ((6, 2, 5, 4), 3),
    ((4, 2, 5), 2),
    ((8, 2, 1, 1), 4),
    ((2, 3, 3, 2, 2), 1),
    ((4, 1, 3, 3, 3), 2),
]:
    t = torch.full(shape, 7.0)
    init.dirac_(t, groups)
    dirac_cases.append({"shape": list(shape), "groups": groups, "expected": flat(t)})

out = {
    "torch": torch.__version__,
    "orthogonal": orthogonal_cases,
    "trunc_normal": trunc_cases,
    "erf": erf,
    "dirac": dirac_cases,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "init_more_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, allow_nan=False)
    f.write("\n")
print(f"wrote {len(orthogonal_cases)} orthogonal, {len(trunc_cases)} trunc_normal, {len(dirac_cases)} dirac cases to {path}")
