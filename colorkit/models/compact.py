"""Seed 000's (Dorscheidt et al.) compact family: one encoder-decoder class, five variants by options.

Encoder ("feature extraction"): VGG16's first four conv blocks (64, 64 | 128, 128 | 256 x 3 | 512 x 3),
3x3 convs with ReLU and batch norm at the end of each block, down-sampled between blocks either by
2x2 max-pooling or by a stride-2 first conv. Optional bottleneck ("middle") of blocks of 3 dilated convs
(symmetric-style padding: torch has no 'symmetric', 'replicate' is used). Decoder ("reconstruction"):
per level, bilinear x2 up-sampling, optional concatenation with the encoder features of that level
(Dahl's hypercolumn-style residual auto-encoder), a 3x3 conv, ReLU, batch norm. Output at full
resolution (seed 000: one target vector per pixel of the 128x128 image).

| preset              | down   | middle | concat | front end                | head     |
| compact             | pool   | 0      | yes    | trained from scratch     | tanh     |
| compact_classifier  | pool   | 0      | yes    | trained from scratch     | classify |
| compact_dilated     | stride | 2      | no     | trained from scratch     | classify |
| dilated_concat      | stride | 2      | yes    | trained from scratch     | classify |
| vgg_compact         | pool   | 0      | yes    | torchvision vgg16_bn, frozen | classify |
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from colorkit.color import gray_from_l, normalize_l

from .heads import Colorizer, Head, scale_channels
from .registry import register

VGG16_LEVELS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
VGG16_BN_SLICES = (0, 6, 13, 23, 33, 43)  # torchvision vgg16_bn.features index where each block starts
VGG16_BN_FILE = "vgg16_bn-6c64b313.pth"  # torchvision's IMAGENET1K_V1 weights, as cached by torch.hub
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DOWNSAMPLES = ("pool", "stride")


@dataclass(frozen=True)
class CompactConfig:
    """Options of the compact family; `vgg` swaps the encoder for a frozen vgg16_bn front end."""

    head: str = "tanh"
    width: float = 1.0
    levels: int = 4  # encoder blocks (VGG16 blocks 1..levels); H, W must be divisible by 2**(levels-1)
    downsample: str = "pool"
    middle: int = 0  # dilated bottleneck blocks of 3 convs each
    dilation: int = 2
    concat: bool = True
    vgg: bool = False
    pretrained: bool = True  # vgg only: load ImageNet weights if they are in the torch hub cache


def _conv_stack(c_in: int, channels: tuple[int, ...], first_stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """[3x3 conv -> ReLU] per entry of channels (first conv may be strided), then BatchNorm."""
    layers: list[nn.Module] = []
    for i, c in enumerate(channels):
        pad_mode = "replicate" if dilation > 1 else "zeros"
        layers += [nn.Conv2d(c_in, c, 3, stride=first_stride if i == 0 else 1, padding=dilation,
                             dilation=dilation, padding_mode=pad_mode), nn.ReLU(inplace=True)]
        c_in = c
    layers.append(nn.BatchNorm2d(c_in))
    return nn.Sequential(*layers)


def imagenet_front_available() -> bool:
    """True when torchvision's ImageNet VGG-16-bn weights are in the torch hub cache (never downloaded)."""
    return (Path(torch.hub.get_dir()) / "checkpoints" / VGG16_BN_FILE).is_file()


def vgg16_bn_front(levels: int, pretrained: bool = True) -> nn.ModuleList:
    """The first `levels` blocks of torchvision's vgg16_bn features (each after the first starts with its max-pool).

    ImageNet weights are loaded only when already in the torch hub cache; never downloaded.
    """
    from torchvision.models.vgg import cfgs, make_layers

    cfg = cfgs["D"]
    pools = [i for i, v in enumerate(cfg) if v == "M"]
    features = make_layers(cfg[:pools[levels - 1]], batch_norm=True)  # blocks 1..levels, no trailing pool
    path = Path(torch.hub.get_dir()) / "checkpoints" / VGG16_BN_FILE  # as imagenet_front_available
    if pretrained and path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing = [k for k in features.state_dict() if f"features.{k}" not in state]
        if missing:
            raise ValueError(f"vgg16_bn_front: {path} is not a vgg16_bn state dict (missing features.{missing[0]})")
        features.load_state_dict({k: state[f"features.{k}"] for k in features.state_dict()})
    elif pretrained:
        warnings.warn(f"vgg16_bn_front: no ImageNet weights at {path}; the VGG front end is randomly "
                      f"initialised (put {VGG16_BN_FILE} there to use them; nothing is downloaded)", stacklevel=2)
    s = VGG16_BN_SLICES
    return nn.ModuleList(features[s[i]:s[i + 1]] for i in range(levels))


class CompactNet(Colorizer):
    """L (B, 1, H, W) -> ab (B, 2, H, W) or logits (B, 313, H, W) through encoder, middle and decoder."""

    def __init__(self, cfg: CompactConfig):
        super().__init__()
        if not 1 <= cfg.levels <= len(VGG16_LEVELS):
            raise ValueError(f"CompactNet: levels must be in 1..{len(VGG16_LEVELS)}, got {cfg.levels!r}")
        if cfg.downsample not in DOWNSAMPLES:
            raise ValueError(f"CompactNet: downsample must be one of {', '.join(DOWNSAMPLES)}, got {cfg.downsample!r}")
        if cfg.vgg and cfg.downsample != "pool":
            raise ValueError("CompactNet: the VGG front end down-samples by max-pooling; use downsample='pool'")
        self.cfg = cfg
        n, w = cfg.levels, cfg.width
        # encoder level i works at H / 2**i; skips[i] has enc_ch[i] channels
        if cfg.vgg:
            enc_ch = [c[-1] for c in VGG16_LEVELS[:n]]
            self.encoder = vgg16_bn_front(n, cfg.pretrained).requires_grad_(False)
            self.register_buffer("rgb_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("rgb_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        else:
            enc_ch, levels, c_in = [], [], 1
            for i, chans in enumerate(VGG16_LEVELS[:n]):
                chans = tuple(scale_channels(c, w) for c in chans)
                stride = 2 if (i > 0 and cfg.downsample == "stride") else 1
                stack = _conv_stack(c_in, chans, stride)
                levels.append(nn.Sequential(nn.MaxPool2d(2), stack) if (i > 0 and stride == 1) else stack)
                enc_ch.append(chans[-1])
                c_in = chans[-1]
            self.encoder = nn.ModuleList(levels)
        c = enc_ch[-1]
        self.middle = nn.Sequential(*[_conv_stack(c, (c, c, c), dilation=cfg.dilation) for _ in range(cfg.middle)])
        dec, dec_ch = [], c
        for i in reversed(range(n - 1)):  # decoder level i works at H / 2**i
            c_out = scale_channels(VGG16_LEVELS[i][-1], w)
            dec.append(_conv_stack(dec_ch + (enc_ch[i] if cfg.concat else 0), (c_out,)))
            dec_ch = c_out
        self.decoder = nn.ModuleList(dec)
        self.head = Head(cfg.head, dec_ch)
        self.input_multiple = 2 ** (n - 1)

    def train(self, mode: bool = True) -> "CompactNet":
        super().train(mode)
        if self.cfg.vgg:
            self.encoder.eval()  # the frozen front end keeps its ImageNet batch-norm statistics
        return self

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        self.check_input(L)
        if self.cfg.vgg:  # the VGG front end sees the grey RGB image, ImageNet-normalised (B, 3, H, W)
            x = (gray_from_l(L) - self.rgb_mean) / self.rgb_std
        else:
            x = normalize_l(L)  # (B, 1, H, W) in [-1, 1]
        return self.head(self.features(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level in self.encoder:
            x = level(x)  # (B, C_i, H / 2**i, W / 2**i)
            skips.append(x)
        x = self.middle(x)  # (B, C_n-1, H / 2**(n-1), W / 2**(n-1))
        for dec, skip in zip(self.decoder, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)  # x2
            if self.cfg.concat:
                x = torch.cat([x, skip], dim=1)  # (B, C + C_skip, h, w)
            x = dec(x)
        return x  # (B, 64 * width, H, W)


def _compact(head: str, width: float = 1.0, levels: int = 4, downsample: str = "pool", middle: int = 0,
             dilation: int = 2, concat: bool = True, vgg: bool = False, pretrained: bool = True) -> CompactNet:
    return CompactNet(CompactConfig(head, width, levels, downsample, middle, dilation, concat, vgg, pretrained))


register("compact", head="tanh",
         description="seed 000 compact: max-pool encoder, concat decoder, 2-channel regression")(_compact)
register("compact_classifier", head="classify",
         description="seed 000 compact classifier: compact with a 313-way head")(_compact)
register("compact_dilated", head="classify", downsample="stride", middle=2, concat=False,
         description="seed 000 compact classifier dilated: strided encoder, dilated bottleneck, no concat")(_compact)
register("dilated_concat", head="classify", downsample="stride", middle=2, concat=True,
         description="seed 000 dilated + concat: strided encoder, dilated bottleneck, concat decoder")(_compact)
register("vgg_compact", head="classify", vgg=True,
         description="seed 000 VGG16 compact classifier: frozen vgg16_bn front end, concat decoder")(_compact)
