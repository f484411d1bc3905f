"""CIFAR VGG with batch norm (the judge of seed 004) and the VGG-transfer colorizer built on its conv blocks."""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn as nn

from .._checks import check_image_batch
from ..color import gray_from_l
from .heads import Colorizer, Head, scale_channels
from .registry import register

# Channel widths per stage; a max-pool follows every stage (5 stages: 32x32 -> 1x1). Simonyan & Zisserman's
# configurations A (vgg11) and D (vgg16), as used for CIFAR-10 with batch norm after every conv.
VGG_CONFIGS: dict[str, list[list[int]]] = {
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
}

# The one place the judge normalises its input: per-channel CIFAR-10 training-set statistics of RGB in [0, 1].
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    """conv3x3 (no bias: the BN shift replaces it) -> BN -> ReLU."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class VGG(nn.Module):
    """CIFAR VGG-bn: conv3x3-BN-ReLU stages with max-pools, a global pool and a small MLP head.

    Input: RGB in [0, 1], (B, in_channels, H, W) with H, W multiples of 32; normalised inside.
    """

    def __init__(self, cfg: str = "vgg16", num_classes: int = 10, in_channels: int = 3, width: float = 1.0,
                 hidden: int | None = None, dropout: float = 0.0):
        super().__init__()
        if cfg not in VGG_CONFIGS:
            raise ValueError(f"VGG: unknown cfg {cfg!r}; expected one of {sorted(VGG_CONFIGS)}")
        if width <= 0 or num_classes < 1 or in_channels < 1:
            raise ValueError(f"VGG: expected width > 0, num_classes >= 1, in_channels >= 1, got width={width}, "
                             f"num_classes={num_classes}, in_channels={in_channels}")
        self.cfg, self.width, self.in_channels = cfg, width, in_channels
        mean = CIFAR_MEAN if in_channels == 3 else (sum(CIFAR_MEAN) / 3,) * in_channels
        std = CIFAR_STD if in_channels == 3 else (sum(CIFAR_STD) / 3,) * in_channels
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        self.blocks = nn.ModuleList()  # one nn.Sequential of conv-BN-ReLU per stage
        c = in_channels
        for stage in VGG_CONFIGS[cfg]:
            layers: list[nn.Module] = []
            for channels in stage:
                layers += conv_bn_relu(c, scale_channels(channels, width))
                c = scale_channels(channels, width)
            self.blocks.append(nn.Sequential(*layers))
        self.pool = nn.MaxPool2d(2)
        self.out_channels = c
        hidden = c if hidden is None else hidden
        # For 32x32 input the map is already 1x1 after five pools; the global pool makes larger inputs work too.
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, hidden),
                                  nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.fc = nn.Linear(hidden, num_classes)  # the last linear layer; its input is .penultimate(x)
        self.feature_dim = hidden

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> zero-mean, unit-std input (CIFAR statistics)."""
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Conv feature map after the last pool: (B, C, H/32, W/32)."""
        check_image_batch(x, "x", "VGG.features", channels=self.in_channels)
        x = self.normalize(x)
        for block in self.blocks:
            x = self.pool(block(x))
        return x

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Feature vector before the last linear layer, (B, feature_dim); used for the Frechet distance."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, num_classes) for RGB in [0, 1]."""
        return self.fc(self.penultimate(x))


class VGGTransferColorizer(Colorizer):
    """Seed 004's transfer colorizer: VGG conv blocks (the judge's architecture) as encoder + deconv decoder.

    Input raw L (B, 1, H, W) in [0, 100], fed to the encoder as the RGB gray image (seed 004 4.1.2). The first
    `pools` stages pool (stride 2**pools), the rest run at that stride (like Zhang's dilated middle);
    log2(2**pools / output_stride) Deconv4-s2 blocks (seed 004's Block8: Deconv4-s2-256) upsample, and the
    head (default "classify": 313 logits) gives (B, 313, H / output_stride, W / output_stride).
    """

    def __init__(self, cfg: str = "vgg16", head: str = "classify", width: float = 1.0, pools: int = 3,
                 decoder_channels: int = 256, output_stride: int = 1, judge: VGG | None = None):
        super().__init__()
        n_stages = len(VGG_CONFIGS.get(cfg, []))
        if not 1 <= pools <= n_stages:
            raise ValueError(f"VGGTransferColorizer: pools must be in 1..{n_stages} for cfg {cfg!r}, got {pools}")
        n_up = math.log2(2 ** pools / output_stride) if output_stride > 0 else -1
        if n_up < 0 or n_up != int(n_up):
            raise ValueError(f"VGGTransferColorizer: output_stride must be a power of 2 <= {2 ** pools}, "
                             f"got {output_stride}")
        self.encoder = VGG(cfg, width=width)
        del self.encoder.head, self.encoder.fc  # only the conv blocks are transferred
        self.pools = pools
        layers: list[nn.Module] = []
        c = self.encoder.out_channels
        c_dec = scale_channels(decoder_channels, width)
        for _ in range(int(n_up)):
            layers += [nn.ConvTranspose2d(c, c_dec, 4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(c_dec), nn.ReLU(inplace=True)]
            c = c_dec
        self.decoder = nn.Sequential(*layers)
        self.head = Head(head, c)  # (B, 313, H', W') logits or (B, 2, H', W') ab
        self.output_stride = output_stride
        self.input_multiple = 2 ** pools
        if judge is not None:
            self.load_encoder_from(judge)

    def load_encoder_from(self, judge: VGG) -> None:
        """Initialise the encoder's conv blocks from a trained judge of the same cfg and width."""
        if not isinstance(judge, VGG):
            raise TypeError(f"VGGTransferColorizer.load_encoder_from: expected a VGG judge, got {type(judge).__name__}")
        if (judge.cfg, judge.width, judge.in_channels) != (self.encoder.cfg, self.encoder.width, 3):
            raise ValueError(f"VGGTransferColorizer.load_encoder_from: judge is {judge.cfg} width {judge.width} "
                             f"with {judge.in_channels} channels, expected {self.encoder.cfg} width "
                             f"{self.encoder.width} with 3 channels")
        self.encoder.blocks.load_state_dict(judge.blocks.state_dict())

    def features(self, rgb: torch.Tensor) -> torch.Tensor:
        """Gray RGB (B, 3, H, W) in [0, 1] -> decoder features (B, C, H / output_stride, W / output_stride)."""
        x = self.encoder.normalize(rgb)
        for i, block in enumerate(self.encoder.blocks):
            x = block(x)
            if i < self.pools:
                x = self.encoder.pool(x)  # (B, C, H / 2**pools, W / 2**pools) after the last pooled stage
        return self.decoder(x)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        """Raw L (B, 1, H, W) -> logits (B, 313, H / output_stride, W / output_stride) (or ab for other heads)."""
        self.check_input(L)
        return self.head(self.features(gray_from_l(L)))


@register("vgg_transfer", head="classify",
          description="seed 004: VGG-bn conv blocks (judge architecture) on gray RGB + Deconv4-s2 decoder")
def _vgg_transfer(head: str, cfg: str = "vgg16", width: float = 1.0, pools: int = 3, decoder_channels: int = 256,
                  output_stride: int = 1) -> VGGTransferColorizer:
    # Initialise from a trained judge afterwards with model.load_encoder_from(judge) (keeps `spec` plain data).
    return VGGTransferColorizer(cfg, head=head, width=width, pools=pools, decoder_channels=decoder_channels,
                                output_stride=output_stride)


# torchvision's ImageNet models expect RGB normalised with these statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetVGG(nn.Module):
    """torchvision's ImageNet VGG(-bn) with a new last layer: RGB in [0, 1] is upscaled to `size` (seed 004: 224).

    Same judge interface as VGG: forward(x) -> logits, penultimate(x) -> (B, 4096), fc = the last linear layer.
    """

    def __init__(self, arch: str = "vgg16_bn", num_classes: int = 10, size: int = 224,
                 state_dict: dict | None = None):
        super().__init__()
        import torchvision  # only this optional judge needs it

        if not arch.startswith("vgg") or not hasattr(torchvision.models, arch):
            raise ValueError(f"ImageNetVGG: unknown torchvision VGG arch {arch!r}; expected e.g. 'vgg16_bn'")
        net = getattr(torchvision.models, arch)(weights=None)
        if state_dict is not None:
            net.load_state_dict(state_dict)  # the ImageNet weights, 1000-way last layer included
        self.cfg, self.size, self.in_channels = arch, size, 3
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.convs, self.avgpool = net.features, net.avgpool
        self.head = net.classifier[:-1]  # Linear-ReLU-Dropout-Linear-ReLU-Dropout -> (B, 4096)
        self.fc = nn.Linear(net.classifier[-1].in_features, num_classes)  # trained from scratch (seed 004)
        self.feature_dim = self.fc.in_features

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Feature vector before the last linear layer, (B, 4096)."""
        check_image_batch(x, "x", "ImageNetVGG.penultimate", channels=3)
        x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return self.head(torch.flatten(self.avgpool(self.convs(x)), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, num_classes) for RGB in [0, 1]."""
        return self.fc(self.penultimate(x))


class WeightsAbsentError(FileNotFoundError):
    """torchvision's ImageNet weights file is not in the torch hub cache (it is never downloaded)."""


def imagenet_weights_path(arch: str = "vgg16_bn") -> Path:
    """Where torchvision keeps the ImageNet weights of `arch`: <torch.hub.get_dir()>/checkpoints/<file name>."""
    import torchvision
    url = torchvision.models.get_model_weights(arch).IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def imagenet_judge_available(arch: str = "vgg16_bn") -> bool:
    """True when torchvision's ImageNet weights file for `arch` is already in the torch hub cache."""
    return imagenet_weights_path(arch).is_file()


def load_imagenet_vgg(arch: str = "vgg16_bn", num_classes: int = 10, pretrained: bool = True) -> ImageNetVGG:
    """ImageNetVGG with torchvision's ImageNet weights read from the hub cache (never downloaded)."""
    state = None
    if pretrained:
        path = imagenet_weights_path(arch)
        if not path.is_file():
            raise WeightsAbsentError(f"load_imagenet_vgg: ImageNet weights for {arch} are absent: expected "
                                     f"torchvision's file {path.name} in {path.parent} (never downloaded here)")
        state = torch.load(path, map_location="cpu", weights_only=True)
    return ImageNetVGG(arch, num_classes=num_classes, state_dict=state)
