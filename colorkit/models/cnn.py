"""Plain feed-forward CNN colorizers built from a block table: seed 002's CNN and seed 004's regression net.

A block is a few 3x3 convs with ReLU, then (optionally) batch norm at the end of the block, as in
Zhang et al. (seeds 001, 004). Down-sampling is by a stride-2 last conv, up-sampling by leading 4x4
stride-2 transposed convs: no pooling anywhere. zhang.py builds its body from the same blocks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .heads import Colorizer, Head, scale_channels
from .registry import register


@dataclass(frozen=True)
class BlockSpec:
    """One conv block: `channels` gives each conv's output channels (so len(channels) convs)."""

    channels: tuple[int, ...]
    stride: int = 1  # stride of the LAST conv (Zhang: conv1_2, conv2_2, conv3_3 have stride 2)
    dilation: int = 1  # dilation (and padding) of every 3x3 conv in the block
    up: int = 0  # how many LEADING convs are 4x4 stride-2 transposed convs (each doubles H, W)
    norm: bool = True  # BatchNorm2d after the block's last ReLU


def conv_block(in_channels: int, spec: BlockSpec, width: float = 1.0, dropout: float = 0.0) -> nn.Sequential:
    """Build one block: [conv -> ReLU] * n (-> Dropout) (-> BatchNorm); conv biases on (Zhang's count)."""
    layers: list[nn.Module] = []
    c_in = in_channels
    n = len(spec.channels)
    for i, c in enumerate(spec.channels):
        c_out = scale_channels(c, width)
        if i < spec.up:  # (B, c_in, h, w) -> (B, c_out, 2h, 2w)
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
        else:
            stride = spec.stride if i == n - 1 else 1  # (B, c_in, h, w) -> (B, c_out, h/stride, w/stride)
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=spec.dilation,
                                    dilation=spec.dilation))
        layers.append(nn.ReLU(inplace=True))
        c_in = c_out
    if dropout > 0:
        layers.append(nn.Dropout2d(dropout))
    if spec.norm:
        layers.append(nn.BatchNorm2d(c_in))
    return nn.Sequential(*layers)


def body_geometry(blocks: tuple[BlockSpec, ...]) -> tuple[int, int]:
    """(input_multiple, output_stride) of a block table: 2**downs and 2**(downs - ups)."""
    downs = sum(1 for b in blocks if b.stride == 2)
    ups = sum(b.up for b in blocks)
    if ups > downs:
        raise ValueError(f"body_geometry: {ups} up-samplings exceed {downs} down-samplings")
    return 2 ** downs, 2 ** (downs - ups)


class ConvBody(nn.Sequential):
    """The blocks of a table in sequence: normalised L (B, 1, H, W) -> features (B, C, H/s, W/s)."""

    def __init__(self, blocks: tuple[BlockSpec, ...], width: float = 1.0, dropout: float = 0.0):
        layers, c = [], 1
        for spec in blocks:
            if spec.stride not in (1, 2):
                raise ValueError(f"ConvBody: block stride must be 1 or 2, got {spec.stride}")
            layers.append(conv_block(c, spec, width, dropout))
            c = scale_channels(spec.channels[-1], width)
        super().__init__(*layers)
        self.out_channels = c


@dataclass(frozen=True)
class CNNConfig:
    """A block-table CNN colorizer; `upsample_output` bilinearly restores full resolution after the head."""

    blocks: tuple[BlockSpec, ...]
    head: str = "tanh"
    width: float = 1.0
    dropout: float = 0.0  # seed 002 tried 25-50 % dropout between hidden layers (no gain)
    upsample_output: bool = False


class ConvNet(Colorizer):
    """Block-table CNN: L (B, 1, H, W) -> ab (B, 2, H, W) or logits (B, 313, H/s, W/s)."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.cfg = cfg
        self.body = ConvBody(cfg.blocks, cfg.width, cfg.dropout)
        self.head = Head(cfg.head, self.body.out_channels)
        self.input_multiple, stride = body_geometry(cfg.blocks)
        self.upsample = stride if (cfg.upsample_output and cfg.head != "classify" and stride > 1) else 1
        self.output_stride = stride // self.upsample

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        out = super().forward(L)  # (B, 2, H/s, W/s) or (B, 313, H/s, W/s)
        if self.upsample > 1:  # regression at full resolution: (B, 2, H, W)
            out = nn.functional.interpolate(out, scale_factor=self.upsample, mode="bilinear", align_corners=False)
        return out


def _blocks(*rows: tuple) -> tuple[BlockSpec, ...]:
    return tuple(BlockSpec(tuple(ch), *rest) for ch, *rest in rows)


# Seed 002 (Gupta & Konda): ReLU convs, no pooling, tanh output, MSE + RMSprop, 64x64 inputs. The paper
# gives no layer table; this is a small encoder-decoder in its spirit: three stride-2 convs down,
# three transposed convs back up, no batch norm.            # resolution for a 64x64 input
SEED002_BLOCKS = _blocks(
    ((64, 64), 2, 1, 0, False),                              # 64 -> 32
    ((128, 128), 2, 1, 0, False),                            # 32 -> 16
    ((256, 256), 2, 1, 0, False),                            # 16 -> 8
    ((512, 256), 1, 1, 0, False),                            # 8
    ((128, 128), 1, 1, 1, False),                            # 8 -> 16
    ((64, 64), 1, 1, 1, False),                              # 16 -> 32
    ((32, 32), 1, 1, 1, False),                              # 32 -> 64
)

# Seed 004 (Li & Wang) figure 4: blocks 1-7 as Zhang et al. (BN at the end of each), then block 8 of
# three 4x4 stride-2 deconvs (H/8 -> H), then a 1x1 conv to 2 channels with a sigmoid.
SEED004_BLOCKS = _blocks(
    ((64, 64), 2), ((128, 128), 2), ((256,) * 3, 2), ((512,) * 3,),   # 32x32 input -> 4x4
    ((512,) * 3, 1, 2), ((512,) * 3, 1, 2), ((512,) * 3,),             # dilation 2 in blocks 5-6
    ((256,) * 3, 1, 1, 3, False),                                      # 4 -> 8 -> 16 -> 32
)

# Notebook 01's "your CNN", written there in plain torch: two stride-2 ReLU convs down, two transposed convs up, no
# batch norm; at width 0.25, 16 and 32 channels (29 k parameters, about 9 M multiply-adds an image at 32 x 32, a
# third of cnn_tanh's cost). At 1,000 steps it beats the mean colour on CIFAR-10 where cnn_tanh does not yet.
SMALL_BLOCKS = _blocks(
    ((64, 64), 2, 1, 0, False),                              # 32 -> 16
    ((128, 128), 2, 1, 0, False),                            # 16 -> 8
    ((64,), 1, 1, 1, False),                                 # 8 -> 16
    ((64,), 1, 1, 1, False),                                 # 16 -> 32
)

CNN_TABLES = {"seed002": SEED002_BLOCKS, "seed004": SEED004_BLOCKS, "small": SMALL_BLOCKS}


def _cnn(head: str, table: str = "seed002", width: float = 1.0, dropout: float = 0.0) -> ConvNet:
    if table not in CNN_TABLES:
        raise ValueError(f"cnn: unknown table {table!r}; valid tables: {', '.join(CNN_TABLES)}")
    return ConvNet(CNNConfig(CNN_TABLES[table], head, width, dropout))


register("cnn_tanh", head="tanh", table="seed002",
         description="seed 002 CNN regressor: ReLU convs, no pooling, tanh head")(_cnn)
register("cnn_small", head="tanh", table="small",
         description="notebook 01's small CNN: two stride-2 convs down, two transposed convs up, tanh head")(_cnn)
register("cnn_sigmoid", head="sigmoid", table="seed004",
         description="seed 004 regression net: Zhang blocks 1-7 + 3 deconvs, sigmoid head")(_cnn)
