"""The tutorial's workload in PyTorch, timed per epoch, for `cargo xtask bench --vs-pytorch`.

Same model, loss, optimizer, batch size and order (no shuffle) as `ferrograd train`'s defaults
(the "Optimizing Model Parameters" tutorial), in one of two data pipelines:
  tutorial   torchvision.datasets.FashionMNIST + ToTensor + DataLoader, as the tutorial writes it
  preloaded  the images decoded once into one float tensor, batches sliced from it

usage: pytorch_tutorial.py --mode tutorial|preloaded --threads N --epochs E --data-dir DIR
Prints `key value` lines (train_secs / test_secs once per epoch), as the Rust bench does.
"""

import argparse
import gzip
import os
import sys
import time

import torch
from torch import nn


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def read_idx(path):
    """An IDX file (gzipped or not) as a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def raw_file(data_dir, name):
    raw = os.path.join(data_dir, "FashionMNIST", "raw")
    for candidate in (os.path.join(raw, name), os.path.join(raw, name + ".gz")):
        if os.path.exists(candidate):
            return candidate
    sys.exit(f"pytorch_tutorial.py: {name} not found in {raw}")


def loaders(mode, data_dir):
    if mode == "tutorial":
        from torch.utils.data import DataLoader
        from torchvision import datasets
        from torchvision.transforms import ToTensor

        training_data = datasets.FashionMNIST(root=data_dir, train=True, download=False, transform=ToTensor())
        test_data = datasets.FashionMNIST(root=data_dir, train=False, download=False, transform=ToTensor())
        return DataLoader(training_data, batch_size=64), DataLoader(test_data, batch_size=64)

    def preloaded(split):
        images = read_idx(raw_file(data_dir, f"{split}-images-idx3-ubyte"))
        labels = read_idx(raw_file(data_dir, f"{split}-labels-idx1-ubyte")).long()
        x = images.float().div_(255.0).unsqueeze(1)  # what ToTensor gives, [N, 1, 28, 28]
        return [(x[i : i + 64], labels[i : i + 64]) for i in range(0, len(x), 64)]

    return preloaded("train"), preloaded("t10k")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["tutorial", "preloaded"], required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--data-dir", required=True)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()}", flush=True)
    train_dataloader, test_dataloader = loaders(args.mode, args.data_dir)
    model = NeuralNetwork()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train()
        for X, y in train_dataloader:
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        train_secs = time.perf_counter() - start

        start = time.perf_counter()
        model.eval()
        test_loss, correct, batches = 0.0, 0, 0
        with torch.no_grad():
            for X, y in test_dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
                batches += 1
        test_secs = time.perf_counter() - start
        print(f"train_secs {train_secs:.4f}", flush=True)
        print(f"test_secs {test_secs:.4f}", flush=True)
        print(f"epoch {epoch + 1} last_loss {loss.item():.6f} test_loss {test_loss / batches:.6f}", flush=True)


if __name__ == "__main__":
    main()
