"""The sampling schemes and roundings, without NumPy (the CLI's choices come from here)."""

from __future__ import annotations

SAMPLING_SCHEMES: dict[str, str] = {
    "repeat-factor": "r(c) = max(1, sqrt(t / f(c))), f(c) = share of images containing c; "
    "r(I) = max over the classes in I (1 if none); ceil: I repeats ceil(r(I)) times an epoch "
    "(mmengine ClassBalancedDataset), stochastic: floor(r) + Bernoulli(r - floor(r)) times "
    "(detectron2 RepeatFactorTrainingSampler)",
    "rare-class": "DAFormer rare class sampling: P(c) = softmax((1 - f_c) / T) over the classes "
    "present, f_c = pixels of c / labelled pixels; then an image uniformly among those with "
    "more than min_pixels pixels of c",
    "weighted": "w(I) = max over the classes in I of N / images(c) (inverse image frequency "
    "of the rarest class present), 0 for an image without a counted class; draw with "
    "probability w(I) / sum w (PyTorch WeightedRandomSampler, replacement=True)",
}

ROUNDINGS = ("ceil", "stochastic")
