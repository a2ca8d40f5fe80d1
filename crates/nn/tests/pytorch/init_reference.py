"""Reference values for crates/nn/tests/init.rs: torch.nn.init's gains, fans, and the
bound or standard deviation each init function draws with, as torch computes them
(from its own calculate_gain and _calculate_correct_fan). Run:
python3 crates/nn/tests/pytorch/init_reference.py   (torch 2.15 made the committed values)
"""
import math

import torch
from torch.nn import init

print(f"// torch {torch.__version__}")
gains = [("Linear", init.calculate_gain("linear")), ("Sigmoid", init.calculate_gain("sigmoid")),
         ("Tanh", init.calculate_gain("tanh")), ("Relu", init.calculate_gain("relu")),
         ("LeakyRelu(0.01)", init.calculate_gain("leaky_relu")),
         ("LeakyRelu(0.2)", init.calculate_gain("leaky_relu", 0.2)),
         ("Selu", init.calculate_gain("selu"))]
print("const GAINS: [(Nonlinearity, f64); %d] = [" % len(gains))
for n, g in gains:
    print(f"    (Nonlinearity::{n}, {float(g)!r}),")
print("];")
shapes = [(512, 784), (10, 512), (16, 3, 5, 5), (7, 2, 3)]
print("const FANS: [(&[usize], (usize, usize)); %d] = [" % len(shapes))
for s in shapes:
    print(f"    (&{list(s)}, {init._calculate_fan_in_and_fan_out(torch.empty(s))}),")
print("];")


def kaiming_std(shape, mode, nonlinearity, a):
    fan = init._calculate_correct_fan(torch.empty(shape), mode)
    return init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


# (shape, mode, nonlinearity, the Rust enum, uniform bound, normal std)
cases = [((256, 784), "fan_in", "leaky_relu", 0.0, "LeakyRelu(0.0)"),
         ((256, 784), "fan_in", "leaky_relu", math.sqrt(5), f"LeakyRelu({math.sqrt(5)!r})"),
         ((784, 256), "fan_out", "relu", 0.0, "Relu"),
         ((64, 3, 5, 5), "fan_in", "tanh", 0.0, "Tanh")]
print("const KAIMING: [(&[usize], FanMode, Nonlinearity, f64, f64); %d] = [" % len(cases))
for shape, mode, nl, a, rust in cases:
    std = kaiming_std(shape, mode, nl, a)
    m = "FanIn" if mode == "fan_in" else "FanOut"
    print(f"    (&{list(shape)}, FanMode::{m}, Nonlinearity::{rust}, {math.sqrt(3.0) * std!r}, {std!r}),")
print("];")
xcases = [((256, 784), 1.0), ((64, 3, 5, 5), init.calculate_gain("relu"))]
print("const XAVIER: [(&[usize], f64, f64, f64); %d] = [" % len(xcases))
for shape, gain in xcases:
    fi, fo = init._calculate_fan_in_and_fan_out(torch.empty(shape))
    std = gain * math.sqrt(2.0 / float(fi + fo))
    print(f"    (&{list(shape)}, {gain!r}, {math.sqrt(3.0) * std!r}, {std!r}),")
print("];")
# torch.nn.Linear's own init is kaiming_uniform_(a=sqrt(5)): bound 1/sqrt(fan_in).
print(f"const LINEAR_784_BOUND: f64 = {kaiming_std((512, 784), 'fan_in', 'leaky_relu', math.sqrt(5)) * math.sqrt(3.0)!r};")
