"""Initial values of output layers: 1-channel heads start at the foreground prior.

Small targets cover ≈0.06–0.2 % of the pixels of IRSTD sets (SIRST: 0.061 %). A head with bias 0
predicts p = 0.5 everywhere at step 0: the BCE of the ~99.8 % background dominates, and foreground
and background logits are pushed down together until nothing is predicted (issue 12: IoU 0.000 for
480 steps). Starting every head at logit(π) with the foreground prior π (the RetinaNet focal-loss
init, Lin et al. 2017) makes the first predictions already right for the background, so the first
gradients are about the targets.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def init_head(conv: nn.Conv2d, bias: float) -> None:
    """A head computing logits from features: bias at the prior, weights left at PyTorch's init.

    (RetinaNet also shrinks the weights to N(0, 0.01); here that slowed the first steps, since the
    gradient reaching the features is scaled by these weights, and hid the TD's effect at step 0.)
    """
    if conv.bias is not None:
        conv.bias.fill_(bias)


@torch.no_grad()
def init_pass_through(conv: nn.Conv2d, channel: int, gain: float = 1.0) -> None:
    """A 1×1 conv fusing N side logits starts as the one full-resolution side (× 1/gain), bias 0.

    With that side at the prior the fused logit starts there too. Not the mean of the sides: the deep
    sides are up-sampled from 1/16–1/32 resolution and cannot be high on a 3-pixel target without
    lighting its surroundings, so a mean keeps the fused logit low long after the fine side has found
    the target (LGNet at 64×64: fused IoU 0.000 after 96 steps with the mean, while side D1 reached p = 0.76).
    The weights of the other sides grow as they become useful. ``gain`` is the factor the inputs are
    scaled by before (LGNet's σ scaling starts at 0.5).
    """
    conv.weight.zero_()
    conv.weight[0, channel] = 1.0 / gain
    if conv.bias is not None:
        conv.bias.zero_()
