"""Reference cases for `view_and_reshape_follow_pytorchs_stride_rule` in
crates/autograd/tests/views_and_in_place.rs: strided tensors (arange reshaped,
permuted, then narrowed) viewed with other shapes; for each, the strides
torch's `view` gives, or that it raises. Run:
python3 crates/autograd/tests/pytorch/view_strides.py > crates/autograd/tests/pytorch/view_strides.json
"""
import itertools
import json
import random

import torch


def factorizations(n, parts):
    """Shapes of `parts` dims (sizes >= 1) whose product is n."""
    if parts == 1:
        return [[n]]
    out = []
    for d in range(1, n + 1):
        if n % d == 0:
            out += [[d] + rest for rest in factorizations(n // d, parts - 1)]
    return out


random.seed(0)
cases = []
bases = [[2, 3, 4], [4, 6], [2, 1, 6], [3, 4, 1, 2], [6, 4, 2], [1, 8], [5, 4]]
for shape in bases:
    n = 1
    for s in shape:
        n *= s
    for perm in random.sample(list(itertools.permutations(range(len(shape)))), min(4, len(list(itertools.permutations(range(len(shape))))))):
        narrow = None
        t = torch.arange(n, dtype=torch.float32).reshape(shape).permute(perm)
        if random.random() < 0.5:
            dim = random.randrange(t.dim())
            if t.shape[dim] > 1:
                length = random.randrange(1, t.shape[dim])
                start = random.randrange(0, t.shape[dim] - length + 1)
                narrow = [dim, start, length]
                t = t.narrow(dim, start, length)
        numel = t.numel()
        targets = []
        for parts in (1, 2, 3, 4):
            targets += factorizations(numel, parts)
        for new in random.sample(targets, min(6, len(targets))):
            try:
                v = t.view(new)
                result = {"strides": list(v.stride()), "values": v.flatten().tolist()}
            except RuntimeError:
                result = {"error": True}
            cases.append({"shape": shape, "perm": list(perm), "narrow": narrow,
                          "contiguous": t.is_contiguous(), "view": new, **result})
print(json.dumps({"torch": torch.__version__, "cases": cases}))
