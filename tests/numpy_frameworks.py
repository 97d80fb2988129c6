"""Numpy stand-ins for the parts of PyTorch and Keras the snippets call, from their sources.

The normal suite runs every snippet against these (the ``frameworks`` group runs the same
snippets against the real libraries, with the same expected numbers). Each stand-in does
what its framework's documentation and source say, including the errors a wrong layout
meets (a target outside the channels is an IndexError, as in PyTorch).

- ``torch.nn.CrossEntropyLoss`` / ``F.cross_entropy``: PyTorch 2.13.0
  torch/nn/modules/loss.py (CrossEntropyLoss docstring): reduction 'mean' is
  sum_n w[y_n] l_n / sum_n w[y_n] over the targets != ignore_index (default -100);
  a target outside [0, C) that is not ignored raises ("Target 11 is out of bounds").
- ``keras.losses.SparseCategoricalCrossentropy``: Keras 3.15.1 keras/src/losses/loss.py,
  reduce_weighted_values: the losses times sample_weight, summed, divided by the sum of
  sample_weight ('mean_with_sample_weight', Keras >= 3.7) or by their number
  ('sum_over_batch_size', the default).
"""

from __future__ import annotations

import math
from types import ModuleType, SimpleNamespace

import numpy as np


class Tensor(np.ndarray):
    """An ndarray with the few tensor methods the snippets call."""

    def dim(self) -> int:
        return self.ndim

    def to(self, other=None, *args, **kwargs):
        return self.astype(other.dtype).view(Tensor) if isinstance(other, np.ndarray) else self

    def view(self, *shape):  # tensor.view(shape); ndarray.view(type) keeps working
        if len(shape) == 1 and isinstance(shape[0], type):
            return super().view(shape[0])
        return self.reshape(shape[0] if len(shape) == 1 else shape)


def tensor(data, dtype=None) -> Tensor:
    array = np.asarray(data)
    if dtype is None:
        dtype = np.int64 if array.dtype.kind in "iub" else np.float32  # torch's defaults
    return np.asarray(array, dtype=dtype).view(Tensor)


def _log_softmax(scores: np.ndarray, axis: int) -> np.ndarray:
    scores = scores.astype(np.float64)
    top = scores.max(axis=axis, keepdims=True)
    return scores - top - np.log(np.exp(scores - top).sum(axis=axis, keepdims=True))


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean"):
    """F.cross_entropy for (N, C, ...) logits and (N, ...) class ids, mean reduction."""
    logits, target = np.asarray(logits), np.asarray(target)
    channels = logits.shape[1]
    keep = target != ignore_index
    outside = keep & ((target < 0) | (target >= channels))
    if outside.any():
        raise IndexError(f"Target {int(target[outside][0])} is out of bounds.")
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(_log_softmax(logits, 1), safe[:, None], axis=1)[:, 0]
    w = np.ones(channels) if weight is None else np.asarray(weight, dtype=np.float64)
    pixel_weight = np.where(keep, w[safe], 0.0)
    return float((-picked * pixel_weight).sum() / pixel_weight.sum())


class CrossEntropyLoss:
    def __init__(self, weight=None, ignore_index=-100):
        self.weight, self.ignore_index = weight, ignore_index

    def __call__(self, logits, target):
        return cross_entropy(logits, target, self.weight, self.ignore_index)


class Generator:
    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        return self


def rand(n, generator=None, dtype=None) -> Tensor:
    return generator.rng.random(n).view(Tensor)


def randperm(n, generator=None) -> Tensor:
    return generator.rng.permutation(n).view(Tensor)


class Sampler:
    """torch.utils.data.Sampler: a base class with nothing the snippets rely on."""


class WeightedRandomSampler(Sampler):
    """Draws num_samples indices with probability weight / sum, with replacement."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.num_samples, self.replacement = num_samples, replacement

    def __iter__(self):
        rng = np.random.default_rng(0)
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), self.num_samples, replace=True, p=p).tolist())

    def __len__(self):
        return self.num_samples


def torch_modules() -> dict[str, ModuleType]:
    """sys.modules entries for ``import torch``, ``from torch import nn``, ...: the stand-ins."""
    functional = ModuleType("torch.nn.functional")
    functional.cross_entropy = cross_entropy
    nn = ModuleType("torch.nn")
    nn.CrossEntropyLoss = CrossEntropyLoss
    nn.functional = functional
    data = ModuleType("torch.utils.data")
    data.Sampler, data.WeightedRandomSampler = Sampler, WeightedRandomSampler
    utils = ModuleType("torch.utils")
    utils.data = data
    torch = ModuleType("torch")
    torch.__dict__.update(
        tensor=tensor,
        where=lambda c, a, b: np.where(c, a, b).view(Tensor),
        isin=lambda a, b: np.isin(a, b),
        double=np.float64,
        Generator=Generator,
        rand=rand,
        randperm=randperm,
        nn=nn,
        utils=utils,
    )
    return {
        "torch": torch,
        "torch.nn": nn,
        "torch.nn.functional": functional,
        "torch.utils": utils,
        "torch.utils.data": data,
    }


class SparseCategoricalCrossentropy:
    """Channels-last logits, integer labels, per-element sample_weight."""

    def __init__(self, from_logits=False, reduction="sum_over_batch_size"):
        assert from_logits, "the snippets pass raw scores"
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        channels = y_pred.shape[-1]
        if ((y_true < 0) | (y_true >= channels)).any():
            raise IndexError("a label outside 0..C-1")
        picked = np.take_along_axis(_log_softmax(y_pred, -1), y_true[..., None], -1)[..., 0]
        weight = np.ones(y_true.shape) if sample_weight is None else np.asarray(sample_weight)
        total = float((-picked * weight).sum())
        if self.reduction == "mean_with_sample_weight":
            divisor = float(weight.sum())
        else:
            divisor = float(math.prod(y_true.shape))
        return total / divisor if divisor else 0.0


def keras_modules() -> dict[str, ModuleType]:
    ops = ModuleType("keras.ops")
    ops.__dict__.update(
        equal=np.equal,
        logical_or=np.logical_or,
        where=np.where,
        take=lambda a, i: np.take(np.asarray(a), np.asarray(i)),
        cast=lambda x, dtype: np.asarray(x).astype(dtype),
    )
    keras = ModuleType("keras")
    keras.ops = ops
    keras.losses = SimpleNamespace(SparseCategoricalCrossentropy=SparseCategoricalCrossentropy)
    return {"keras": keras, "keras.ops": ops}
