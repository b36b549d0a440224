"""Tiny CPU models for the image demos: a U-Net for segmentation and a CNN classifier.

Both are built only from modules captum's LRP supports (each module used once, flattening
done functionally), so every attribution method of `graphcert.tasks.image.attribution` applies.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["DigitsCNN", "TinyUNet"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())


class TinyUNet(nn.Module):
    """Two-level U-Net: (B, in_channels, H, W) -> (B, n_classes, H, W) logits (H, W even).

    Args:
        in_channels (int): input channels.
        n_classes (int): number of classes.
        width (int): channels of the first level.
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 16):
        super().__init__()
        self.down = _block(in_channels, width)
        self.pool = nn.MaxPool2d(2)
        self.bottom = _block(width, 2 * width)
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.merge = _block(2 * width, width)
        self.head = nn.Conv2d(width, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits of the images.

        Args:
            x (Tensor): images, shape (B, in_channels, H, W), H and W even.

        Returns:
            Tensor: logits, shape (B, n_classes, H, W).
        """
        skip = self.down(x)
        deep = self.up(self.bottom(self.pool(skip)))
        return self.head(self.merge(torch.cat([skip, deep], dim=1)))


class DigitsCNN(nn.Module):
    """(B, 1, S, S) -> (B, n_classes) logits; ``features`` is the last convolution (Grad-CAM).

    Args:
        n_classes (int): number of classes.
        width (int): channels of the first convolution.
    """

    def __init__(self, n_classes: int = 10, width: int = 16):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.features = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AdaptiveAvgPool2d(3)
        self.fc = nn.Linear(9 * 2 * width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the images.

        Args:
            x (Tensor): images, shape (B, 1, S, S).

        Returns:
            Tensor: logits, shape (B, n_classes).
        """
        h = self.pool2(self.relu2(self.features(self.pool1(self.relu1(self.conv1(x))))))
        return self.fc(torch.flatten(h, 1))
