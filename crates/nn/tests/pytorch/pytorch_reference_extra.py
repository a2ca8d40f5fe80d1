"""A second reference file in the format of reference/pytorch_reference.json,
with cases that one does not hold: Adagrad, `maximize`, AdamW with amsgrad,
RMSprop centered without momentum, label smoothing 0.2, five classes, and an
MLP of other sizes with a summed loss. Read by the same tests
(crates/{autograd,nn,optim}/tests/reference*.rs), which take their cases from
the file, so that they check what a file describes rather than one file.

    python3 crates/nn/tests/pytorch/pytorch_reference_extra.py

writes crates/nn/tests/pytorch/pytorch_reference_extra.json (PyTorch 2.15,
float64, as the shared file).
"""

import json
import os

import torch

torch.set_default_dtype(torch.float64)
g = torch.Generator().manual_seed(2026)


def rand(*shape, low=-1.0, high=1.0):
    return (low + (high - low) * torch.rand(*shape, generator=g)).tolist()


OPTIMIZERS = {
    "sgd_nesterov_decay": ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    "sgd_maximize": ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.2, maximize=True)),
    "adam_maximize_foreach": ("Adam", dict(lr=0.05, betas=[0.7, 0.9], maximize=True, foreach=False)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.05, betas=[0.85, 0.99], weight_decay=0.05, amsgrad=True)),
    "rmsprop_centered": ("RMSprop", dict(lr=0.02, alpha=0.95, eps=1e-7, centered=True)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad_decay": (
        "Adagrad",
        dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-8),
    ),
}


def optimizer_trajectories(steps=9, n=6):
    out = {}
    for name, (kind, options) in OPTIMIZERS.items():
        # Concave (a < 0) where the optimizer maximizes, so that it converges.
        sign = -1.0 if options.get("maximize") else 1.0
        a = [sign * v for v in rand(n, low=0.3, high=2.0)]
        b = rand(n)
        x0 = rand(n, low=-2.0, high=2.0)
        x = torch.tensor(x0, requires_grad=True)
        at, bt = torch.tensor(a), torch.tensor(b)
        kwargs = {k: tuple(v) if k == "betas" else v for k, v in options.items()}
        opt = getattr(torch.optim, kind)([x], **kwargs)
        trajectory = []
        for _ in range(steps):
            opt.zero_grad()
            (at * x * x + bt * x).sum().backward()
            opt.step()
            trajectory.append(x.detach().tolist())
        out[name] = dict(
            optimizer=kind,
            options=options,
            objective="sum(a*x^2 + b*x)",
            a=a,
            b=b,
            x0=x0,
            params_after_each_step=trajectory,
        )
    return out


def losses(n=5, classes=5):
    logits = torch.tensor(rand(n, classes, low=-3.0, high=3.0))
    target = torch.randint(0, classes, (n,), generator=g)
    out = {"inputs": {"logits": logits.tolist(), "target": target.tolist()}}
    kinds = {
        "cross_entropy": lambda x, r: torch.nn.functional.cross_entropy(x, target, reduction=r),
        "cross_entropy_label_smoothing_0.2": lambda x, r: torch.nn.functional.cross_entropy(
            x, target, reduction=r, label_smoothing=0.2
        ),
        "nll_of_log_softmax": lambda x, r: torch.nn.functional.nll_loss(
            torch.log_softmax(x, 1), target, reduction=r
        ),
        "mse_vs_onehot": lambda x, r: torch.nn.functional.mse_loss(
            x, torch.nn.functional.one_hot(target, classes).to(x.dtype), reduction=r
        ),
    }
    for reduction in ["mean", "sum", "none"]:
        for kind, f in kinds.items():
            x = logits.clone().requires_grad_(True)
            value = f(x, reduction)
            value.sum().backward()
            out[f"{kind}/{reduction}"] = dict(
                value=value.tolist(), grad_of_sum_wrt_input=x.grad.tolist()
            )
    return out


def mlp(n=6):
    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    x = torch.tensor(rand(n, 5, low=-2.0, high=2.0))
    target = torch.randint(0, 3, (n,), generator=g)
    loss = torch.nn.CrossEntropyLoss(reduction="sum")(model(x), target)
    loss.backward()
    return dict(
        layers="Linear(5,4) ReLU Linear(4,3), CrossEntropyLoss(sum)",
        input=x.tolist(),
        target=target.tolist(),
        params={k: v.tolist() for k, v in model.state_dict().items()},
        loss=loss.item(),
        grads={k: p.grad.tolist() for k, p in model.named_parameters()},
    )


reference = {
    "generated_by": f"PyTorch {torch.__version__}, float64",
    "optimizers": optimizer_trajectories(),
    "losses": losses(),
    "mlp": mlp(),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_reference_extra.json")
with open(path, "w") as f:
    json.dump(reference, f, indent=1)
print("wrote", path)
