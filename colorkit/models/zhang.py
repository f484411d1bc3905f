"""Zhang et al.'s colorization net (seed 001 table 1, seed 004 fig. 4) and seed 001's simplified variant.

Eight conv blocks; 3x3 convs with ReLU and a bias, batch norm (affine) at the end of blocks 1-7;
down-sampling by the stride-2 last conv of blocks 1-3 (no pooling); dilation 2 in blocks 5-6; block 8
starts with a 4x4 stride-2 transposed conv; a 1x1 conv (with bias) to 313 logits at H/4.

Parameter counts (pinned in tests/test_models.py):
- full: 32,235,385. This needs the eccv16 widths 512 for block 7 and 256 for block 8, a 4x4 transposed
  conv, no BN in block 8 and a head bias. (Seed 001's table lists 256 / 128 channels for blocks 7 / 8,
  which gives a different total; the count the paper states is the one of these widths.)
- simplified: 15,387,513 = every block cut to its first two convs and every width capped at 416.

Hint models (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors"): the same
body whose first conv also sees `hint_channels` = 3 extra input channels, sparse ab hints (B, 2, H, W) in Lab units
and their mask (B, 1, H, W); the model normalises them inside (ab / 110, mask as is). Given L alone it behaves as
if no hint were given (zero hints). See colorkit.hints.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from colorkit._checks import check_image_batch
from colorkit.color import AB_SCALE, normalize_l

from .cnn import BlockSpec, CNNConfig, ConvNet
from .registry import register

#                channels         stride dilation up  norm   # resolution for a 256x256 input (H)
ZHANG_BLOCKS = (
    BlockSpec((64, 64), 2),                                    # conv1: 256 -> 128
    BlockSpec((128, 128), 2),                                  # conv2: 128 -> 64
    BlockSpec((256, 256, 256), 2),                             # conv3: 64 -> 32
    BlockSpec((512, 512, 512)),                                # conv4: 32
    BlockSpec((512, 512, 512), 1, 2),                          # conv5: 32, dilation 2
    BlockSpec((512, 512, 512), 1, 2),                          # conv6: 32, dilation 2
    BlockSpec((512, 512, 512)),                                # conv7: 32
    BlockSpec((256, 256, 256), 1, 1, 1, False),                # conv8: 32 -> 64 (transposed conv first)
)
SIMPLIFIED_MAX_CONVS = 2
SIMPLIFIED_MAX_CHANNELS = 416


@dataclass(frozen=True)
class ZhangConfig:
    """Zhang net options; `blocks` (8 tuples of per-conv channels) overrides the full/simplified widths."""

    head: str = "classify"
    width: float = 1.0
    simplified: bool = False
    blocks: tuple[tuple[int, ...], ...] | None = None
    hint_channels: int = 0  # 0: L only; 3: L + ab hints (2) + mask (1), Zhang et al. 2017

    def block_specs(self) -> tuple[BlockSpec, ...]:
        """The 8 BlockSpecs: ZHANG_BLOCKS with the simplified cut or the `blocks` channels applied."""
        if self.blocks is not None:
            chans = tuple(tuple(int(c) for c in b) for b in self.blocks)
            if len(chans) != len(ZHANG_BLOCKS) or any(len(c) == 0 for c in chans):
                raise ValueError(f"ZhangConfig: blocks must be 8 non-empty tuples of channels, got {self.blocks!r}")
        elif self.simplified:
            chans = tuple(tuple(min(c, SIMPLIFIED_MAX_CHANNELS) for c in b.channels[:SIMPLIFIED_MAX_CONVS])
                          for b in ZHANG_BLOCKS)
        else:
            chans = tuple(b.channels for b in ZHANG_BLOCKS)
        return tuple(BlockSpec(c, b.stride, b.dilation, b.up, b.norm) for c, b in zip(chans, ZHANG_BLOCKS))


class ZhangColorizer(ConvNet):
    """L (B, 1, H, W) -> logits (B, 313, H/4, W/4); with a regression head ab (B, 2, H, W) (bilinear x4).

    With hint_channels = 3 the input may also be (B, 4, H, W): L, ab hints (Lab units) and the hint mask.
    """

    def __init__(self, cfg: ZhangConfig):
        super().__init__(CNNConfig(cfg.block_specs(), cfg.head, cfg.width, upsample_output=True))
        self.zhang_cfg = cfg
        if cfg.hint_channels not in (0, 3):
            raise ValueError(f"ZhangConfig: hint_channels must be 0 (L only) or 3 (ab hints + mask), "
                             f"got {cfg.hint_channels!r}")
        self.hint_channels = cfg.hint_channels
        if cfg.hint_channels:  # conv1_1 sees L, ab hints and mask (Zhang et al. 2017)
            first = self.body[0][0]
            self.body[0][0] = nn.Conv2d(1 + cfg.hint_channels, first.out_channels, first.kernel_size,
                                        first.stride, first.padding, first.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.hint_channels:
            return super().forward(x)
        fn = f"{self.model_name}.forward"
        check_image_batch(x, "x", fn)
        want = 1 + self.hint_channels
        if x.shape[1] not in (1, want):
            raise ValueError(f"{fn}: expected L (B, 1, H, W) or L + ab hints + mask (B, {want}, H, W), "
                             f"got shape {tuple(x.shape)}")
        L = self.check_input(x[:, :1])
        ab, mask = (x[:, 1:3], x[:, 3:4]) if x.shape[1] == want else (L.new_zeros(L.shape[0], 2, *L.shape[-2:]),
                                                                      torch.zeros_like(L))
        out = self.head(self.features(torch.cat([normalize_l(L), ab / AB_SCALE, mask], dim=1)))
        if self.upsample > 1:  # regression at full resolution, as ConvNet does
            out = nn.functional.interpolate(out, scale_factor=self.upsample, mode="bilinear", align_corners=False)
        return out


def _zhang(head: str, width: float = 1.0, simplified: bool = False,
           blocks: tuple[tuple[int, ...], ...] | None = None) -> ZhangColorizer:
    return ZhangColorizer(ZhangConfig(head, width, simplified, blocks))


def _zhang_hints(head: str, width: float = 1.0, simplified: bool = True,
                 blocks: tuple[tuple[int, ...], ...] | None = None, hint_channels: int = 3) -> ZhangColorizer:
    # A builder of its own: the automatic presets' specs (and their checkpoints) keep exactly their options.
    return ZhangColorizer(ZhangConfig(head, width, simplified, blocks, hint_channels))


register("zhang", head="classify", description="Zhang et al. 2016: 8 blocks, 313-way head at H/4")(_zhang)
register("zhang_simplified", head="classify", simplified=True,
         description="seed 001 simplified Zhang net: <= 2 convs a block, <= 416 channels")(_zhang)
register("zhang_regressor", head="tanh",
         description="Zhang body + 2-channel head, ab up-sampled x4 (seed 003 L1/L2 generator)")(_zhang)
register("zhang_hints", head="classify",
         description="Zhang et al. 2017 user-guided: simplified Zhang net on L + ab hints + mask, 313-way head")(
    _zhang_hints)
register("zhang_hints_regressor", head="tanh",
         description="simplified Zhang net on L + ab hints + mask, 2-channel head up-sampled x4")(_zhang_hints)
