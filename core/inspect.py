"""What a trained network has learned, computed without Qt (the GUI's views only draw it)."""

from __future__ import annotations

import numpy as np
import torch

from core.data.loader import Data, Split


@torch.no_grad()
def predict(model: torch.nn.Module, data: Data, split: Split, batch: int = 1024) -> torch.Tensor:
    """Return the predicted class of every example of a split (model in eval mode)."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(xb).argmax(1) for xb, _ in data.batches(split, batch, train=False)])
    model.train(was_training)
    return out


def confusion_matrix(model: torch.nn.Module, data: Data, split: Split) -> np.ndarray:
    """Return counts[true class, predicted class] over a split."""
    k = len(data.classes)
    pred = predict(model, data, split)
    counts = torch.bincount(split.y * k + pred, minlength=k * k).view(k, k)
    return counts.cpu().numpy()


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Return each class's accuracy in % (the diagonal over the row sums)."""
    return 100.0 * np.diag(confusion) / np.maximum(confusion.sum(1), 1)
