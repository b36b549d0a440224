"""Demo data generated deterministically here (no downloads) or shipped with scikit-learn.

* :func:`shapes_dataset`: squares, discs and triangles (classes 1-3) on textured backgrounds
  (class 0), RGB images in [0, 1];
* :func:`road_scenes`: a synthetic road scene per sample, an RGB-like and a depth-like
  modality and a road / not-road mask;
* :func:`digits_dataset`: scikit-learn's 8 x 8 digits, upsampled to 24 x 24, in [0, 1].
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["SHAPE_CLASSES", "digits_dataset", "road_scenes", "shapes_dataset"]

SHAPE_CLASSES = ("background", "square", "disc", "triangle")


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth random texture (3, size, size): a few low-frequency sinusoids per channel."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    tex = np.zeros((3, size, size))
    for c in range(3):
        for _ in range(3):
            fy, fx, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
            tex[c] += np.sin(2 * np.pi * (fy * yy + fx * xx) + phase)
    return 0.35 + 0.08 * tex + 0.03 * rng.standard_normal((3, size, size))


def shapes_dataset(n: int, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, size, size) images and (n, size, size) labels; 1-3 shapes per image.

    Args:
        n (int): number of images.
        size (int): image side.
        seed (int): seed.

    Returns:
        tuple[Tensor, Tensor]: float32 images and int64 labels.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images, labels = [], []
    for _ in range(n):
        img, lab = _texture(rng, size), np.zeros((size, size), dtype=np.int64)
        for _ in range(rng.integers(1, 4)):
            cls = int(rng.integers(1, 4))
            r = rng.uniform(size / 9, size / 5)
            cy, cx = rng.uniform(r, size - r, 2)
            if cls == 1:
                mask = (np.abs(yy - cy) <= r * 0.8) & (np.abs(xx - cx) <= r * 0.8)
            elif cls == 2:
                mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
            else:
                mask = (yy >= cy - r) & (yy <= cy + r) & (np.abs(xx - cx) <= (yy - cy + r) / 2)
            color = np.clip(rng.uniform(0.0, 1.0, 3) + [[0.4], [0.0], [-0.2]][cls % 3], 0, 1)
            img[:, mask] = color[:, None] * 0.8 + 0.1
            lab[mask] = cls
        images.append(np.clip(img, 0, 1))
        labels.append(lab)
    return (torch.tensor(np.stack(images), dtype=torch.float32),
            torch.tensor(np.stack(labels)))


def road_scenes(n: int, size: int = 24, seed: int = 0):
    """``(rgb (n, 3, s, s), depth (n, 1, s, s), road (n, s, s))``: a road narrowing to a
    vanishing point; the RGB modality is noisy and low-contrast, the depth modality shows
    the road surface as a smooth ramp and obstacles as bumps.

    Args:
        n (int): number of scenes.
        size (int): scene side s.
        seed (int): seed.

    Returns:
        tuple[Tensor, Tensor, Tensor]: rgb, depth and road labels.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    rgb, depth, road = [], [], []
    for _ in range(n):
        horizon = rng.uniform(0.3, 0.45)
        center = rng.uniform(0.35, 0.65) + rng.uniform(-0.2, 0.2) * (yy - horizon)
        half = np.clip((yy - horizon) * rng.uniform(0.45, 0.7), 0, None)
        lab = (yy > horizon) & (np.abs(xx - center) < half)
        for _ in range(rng.integers(0, 3)):  # obstacles (cars) on the road are not road
            oy, ox = rng.uniform(horizon + 0.15, 0.95), rng.uniform(0.2, 0.8)
            lab &= ~((np.abs(yy - oy) < 0.07) & (np.abs(xx - ox) < 0.09))
        sky = (yy <= horizon)[None] * np.array([0.5, 0.7, 0.9])[:, None, None]
        ground = (yy > horizon)[None] * np.array([0.35, 0.5, 0.3])[:, None, None]
        img = sky + ground + lab[None] * (np.array([0.62, 0.6, 0.58])[:, None, None] - ground)
        img = img + 0.15 * rng.standard_normal((3, size, size))
        d = np.where(yy > horizon, 1.0 - (yy - horizon) / (1 - horizon), 1.0)
        d = d + 0.25 * ((yy > horizon) & ~lab) + 0.05 * rng.standard_normal((size, size))
        rgb.append(np.clip(img, 0, 1))
        depth.append(np.clip(d, 0, 1)[None])
        road.append(lab.astype(np.int64))
    as_float = lambda a: torch.tensor(np.stack(a), dtype=torch.float32)  # noqa: E731
    return as_float(rgb), as_float(depth), torch.tensor(np.stack(road))


def digits_dataset(scale: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as (1797, 1, 8 scale, 8 scale) images in [0, 1] and labels.

    Args:
        scale (int): upsampling factor of the 8 x 8 digits.

    Returns:
        tuple[Tensor, Tensor]: float32 (1797, 1, 8 scale, 8 scale) and int64 (1797,).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.kron(digits.images / 16.0, np.ones((scale, scale)))
    return (torch.tensor(images[:, None], dtype=torch.float32),
            torch.tensor(digits.target, dtype=torch.int64))
