"""Notebook 08's hint editor: click on a grey photo to place colour points; a hint model re-colours it at once.

`HintSession` holds the state and works without a front end (scripted hints, tests, headless runs): a photo, a
hint model, its points [x, y, colour] and, at any pixel, the model's predicted distribution over the 313 bins
as a palette, most probable first (Zhang et al. 2017's suggested colours). `hint_editor` wraps it in widgets: an
ipycanvas canvas to click on, the colorization beside it, the palette, a free colour picker, a list of the hints
with a remove button, and a mode to move the selected hint.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import color
from .colorizer import Colorizer
from .hint_points import check_points, hints_from_points, parse_color
from .hints import hint_channels
from .metrics import psnr
from .notebook import figure_bytes
from .quantize import DEFAULT_T, ab_bins


def _hex(rgb: torch.Tensor) -> str:
    """An RGB triple in [0, 1] as "#rrggbb"."""
    return "#" + "".join(f"{round(float(v) * 255):02x}" for v in rgb.clamp(0, 1))


class HintSession:
    """A photo, a hint model and the user's points; every change re-colours through the session's Colorizer.

    size: the longer side the model sees (its training size); .colorizer holds the model, T and that work size.
    """

    def __init__(self, model: torch.nn.Module, image: torch.Tensor, size: int = 32, T: float = DEFAULT_T) -> None:
        if not hint_channels(model):
            raise ValueError(f"HintSession: model {getattr(model, 'model_name', type(model).__name__)} has no hint "
                             "input; expected a hint model such as ck.load_pretrained('hints')")
        if image.ndim != 3 or image.shape[0] != 3 or image.dtype != torch.uint8:
            raise ValueError(f"HintSession: expected a uint8 RGB image (3, H, W), got {image.dtype} "
                             f"{tuple(image.shape)}")
        self.image = image
        H, W = image.shape[-2:]
        m = getattr(model, "input_multiple", 1)
        scale = size / max(H, W)  # the model sees the photo with its longer side at `size` (its training size)
        self.work = tuple(max(m, math.ceil(s * scale / m) * m) for s in (H, W))  # (h, w), multiples of m
        self.colorizer = Colorizer(model, name=getattr(model, "model_name", type(model).__name__), T=T,
                                   size=self.work)
        self.points: list[list[Any]] = []  # [x, y, colour] in the photo's pixels; colour "#rrggbb" or (a, b), as given
        self.truth = color.uint8_to_float(image[None])  # (1, 3, H, W)
        self.L = color.rgb_to_lab(self.truth)[:, :1]  # (1, 1, H, W) in [0, 100]
        self._logits: torch.Tensor | None = None
        self.result = self.colorize()

    # ---------------------------------------------------------------- the points
    def add(self, x: float, y: float, colour: str | tuple[float, float] | None = None) -> int:
        """Place a point at pixel (x, y) (column, row); colour: "#rrggbb", (a, b), or None for the palette's first."""
        self._check_xy(x, y, "HintSession.add")
        self.points.append([round(x), round(y), self._colour(colour, x, y)])
        self.result = self.colorize()
        return len(self.points) - 1

    def move(self, index: int, x: float, y: float) -> None:
        """Move point `index` to pixel (x, y), keeping its colour."""
        self._index(index)
        self._check_xy(x, y, "HintSession.move")
        self.points[index][:2] = [round(x), round(y)]
        self.result = self.colorize()

    def recolour(self, index: int, colour: str | tuple[float, float]) -> None:
        """Give point `index` another colour ("#rrggbb" or (a, b))."""
        self._index(index)
        self.points[index][2] = self._colour(colour, *self.points[index][:2])
        self.result = self.colorize()

    def remove(self, index: int) -> None:
        """Remove point `index`."""
        self._index(index)
        del self.points[index]
        self.result = self.colorize()

    def to_json(self) -> list[dict[str, Any]]:
        """The points in the HINTS.json form `colorkit colorize --hints` reads ("color": hex, or "ab": [a, b])."""
        return [{"x": x, "y": y, **({"color": c} if isinstance(c, str) else {"ab": list(c)})} for x, y, c in self.points]

    # ---------------------------------------------------------------- the model
    def colorize(self) -> torch.Tensor:
        """The photo coloured from its L and the current points: RGB (3, H, W) in [0, 1]."""
        H, W = self.image.shape[-2:]
        patch = max(1, round(max(H, W) / max(self.work)))  # a point covers about one pixel of the model's input
        hints = hints_from_points([tuple(p) for p in self.points], (H, W), patch=patch)
        captured = {}
        model = self.colorizer.model
        hook = model.register_forward_hook(lambda _m, _x, out: captured.update(logits=out))  # for the palette
        try:  # one pass, the kit's one prediction path
            device = next(model.parameters()).device
            rgb = self.colorizer(self.image[None].to(device), hints=tuple(t.to(device) for t in hints))
        finally:
            hook.remove()
        self._logits = captured["logits"][0].float().cpu()  # (313, h', w') at the model's output resolution
        return rgb[0].cpu()

    def distribution(self, x: float, y: float) -> torch.Tensor:
        """The model's probabilities over the 313 bins at pixel (x, y), given the current points: (313,)."""
        self._check_xy(x, y, "HintSession.distribution")
        H, W = self.image.shape[-2:]
        h, w = self._logits.shape[-2:]  # the output grid covers the work size (a multiple of the input multiple)
        row, col = min(h - 1, int((y + 0.5) / H * h)), min(w - 1, int((x + 0.5) / W * w))
        return torch.softmax(self._logits[:, row, col], dim=0)

    def palette(self, x: float, y: float, k: int = 8) -> list[tuple[str, float, tuple[float, float]]]:
        """The k most probable bins at (x, y), best first: ("#rrggbb" drawn at the pixel's lightness, probability,
        the bin's exact (a, b)); give a point the (a, b), since the drawn colour may be clipped to the screen's gamut."""
        probs = self.distribution(x, y)
        top = torch.topk(probs, k)
        ab = ab_bins()[top.indices]  # (k, 2)
        return [(self.shown(c.tolist(), x, y), float(p), tuple(c.tolist())) for c, p in zip(ab, top.values)]

    def shown(self, colour: str | Sequence[float], x: float, y: float) -> str:
        """How a point's colour looks at pixel (x, y): "#rrggbb" of its (a, b) at that pixel's lightness."""
        a, b = parse_color(colour if isinstance(colour, str) else tuple(colour), "HintSession colour")
        lab = torch.tensor([float(self.L[0, 0, round(y), round(x)]), a, b]).view(1, 3, 1, 1)
        return _hex(color.lab_to_rgb(lab).view(3))

    def psnr(self) -> float:
        """PSNR (dB) of the current colorization against the photo's true colours."""
        return float(psnr(self.result[None], self.truth))

    def _colour(self, colour: Any, x: float, y: float) -> str | tuple[float, float]:
        if colour is None:
            return self.palette(x, y, 1)[0][2]
        a, b = parse_color(colour, "HintSession colour")  # validates; a hex string is kept as the user wrote it
        return colour if isinstance(colour, str) else (a, b)

    def _check_xy(self, x: float, y: float, fn: str) -> None:
        check_points([(x, y, (0.0, 0.0))], tuple(self.image.shape[-2:]), fn)  # the colour is checked elsewhere

    def _index(self, index: int) -> None:
        if not (isinstance(index, int) and 0 <= index < len(self.points)):
            raise IndexError(f"HintSession: no point {index!r}; there are {len(self.points)} (0-based)")


def gray_image(session: HintSession) -> np.ndarray:
    """The photo's lightness as a grey uint8 image (H, W, 3)."""
    grey = color.gray_from_l(session.L)[0]
    return (grey.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def _display(image: np.ndarray | torch.Tensor, side: int) -> np.ndarray:
    """An (H, W, 3) uint8 image or (3, H, W) float in [0, 1] scaled so that its longer side is `side`."""
    t = torch.as_tensor(image)
    t = t.permute(2, 0, 1).float() / 255 if t.dtype == torch.uint8 else t.float()
    H, W = t.shape[-2:]
    size = (max(1, round(H * side / max(H, W))), max(1, round(W * side / max(H, W))))
    mode = "nearest" if side >= max(H, W) else "area"  # small images stay pixel-sharp, large ones are averaged
    small = F.interpolate(t[None], size=size, mode=mode)[0]
    return (small.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def hint_editor(session: HintSession, side: int = 256, k: int = 8):
    """Widgets around a HintSession: click the grey photo to add a point (or move the selected one), pick its colour
    from the model's palette at that pixel or a free picker, remove it from the list; the colorization follows.

    Viewers without a widget front end (a stored notebook, GitHub) see a still picture of the current state.
    """
    import ipywidgets as w
    from ipycanvas import Canvas, hold_canvas

    H, W = session.image.shape[-2:]
    scale = side / max(H, W)
    grey = _display(gray_image(session), side)
    left = Canvas(width=grey.shape[1], height=grey.shape[0], layout=w.Layout(border="1px solid #ccc"))
    right = Canvas(width=grey.shape[1], height=grey.shape[0], layout=w.Layout(border="1px solid #ccc"))
    mode = w.ToggleButtons(options=["add", "move"], value="add", description="click to",
                           tooltips=["a click adds a point", "a click moves the selected point"])
    listing = w.Select(options=[], rows=6, description="hints")
    remove = w.Button(description="remove", icon="trash")
    picker = w.ColorPicker(value="#808080", description="free colour", concise=False)
    swatches = w.HBox([])
    status = w.Label()

    def selected() -> int | None:
        return listing.value if listing.value is not None and listing.value < len(session.points) else None

    def draw(note: str = "") -> None:
        with hold_canvas():
            left.put_image_data(grey, 0, 0)
            for i, (x, y, c) in enumerate(session.points):
                cx, cy = (x + 0.5) * scale, (y + 0.5) * scale
                left.fill_style, left.stroke_style = session.shown(c, x, y), "#000000" if i == selected() else "#ffffff"
                left.line_width = 3 if i == selected() else 1.5
                left.fill_circle(cx, cy, 6)
                left.stroke_circle(cx, cy, 6)
        right.put_image_data(_display(session.result, side), 0, 0)
        status.value = (f"{len(session.points)} point(s); PSNR against the true colours {session.psnr():.2f} dB "
                        f"(T = {session.colorizer.T:g}, model input {session.work[1]} x {session.work[0]} px){note}")

    def refresh(select: int | None) -> None:
        listing.unobserve(on_select, names="value")
        listing.options = [(f"{i}: x={x}, y={y}, {session.shown(c, x, y)}", i)
                           for i, (x, y, c) in enumerate(session.points)]
        listing.value = select
        listing.observe(on_select, names="value")
        on_select()

    def show_palette() -> None:
        i = selected()
        if i is None:
            swatches.children = [w.Label("select or add a point to see the model's suggested colours")]
            return
        x, y, _ = session.points[i]
        buttons = []
        for shown, p, ab in session.palette(x, y, k):
            b = w.Button(description=f"{p:.0%}", tooltip=f"{shown}: a = {ab[0]:g}, b = {ab[1]:g}",
                         layout=w.Layout(width="58px"))
            b.style.button_color = shown
            b.on_click(lambda _b, ab=ab: recolour(ab))
            buttons.append(b)
        swatches.children = [w.Label("suggested:"), *buttons]

    def recolour(colour) -> None:
        if selected() is None:
            draw(note="; select a point first")
            return
        session.recolour(selected(), colour)
        refresh(selected())

    def on_click(px: float, py: float) -> None:
        x, y = min(W - 1, max(0, int(px / scale))), min(H - 1, max(0, int(py / scale)))
        if mode.value == "add":
            refresh(session.add(x, y))
        elif selected() is None:
            draw(note="; select the point to move in the list first")
        else:
            session.move(selected(), x, y)
            refresh(selected())

    def on_pick(change) -> None:
        recolour(change["new"])

    def on_select(_change=None) -> None:
        picker.unobserve(on_pick, names="value")  # show the selected point's colour without recolouring it
        if selected() is not None:
            x, y, c = session.points[selected()]
            picker.value = session.shown(c, x, y)
        picker.observe(on_pick, names="value")
        show_palette()
        draw()

    def on_remove(_b=None) -> None:
        if selected() is not None:
            i = selected()
            session.remove(i)
            refresh(min(i, len(session.points) - 1) if session.points else None)  # its neighbour stays selected

    left.on_mouse_down(on_click)
    listing.observe(on_select, names="value")
    remove.on_click(on_remove)
    picker.observe(on_pick, names="value")

    class EditorBox(w.VBox):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs) or {}
            return {**bundle, "image/jpeg": _still(session, grey, scale)}

    refresh(len(session.points) - 1 if session.points else None)
    return EditorBox([mode, w.HBox([left, right]), swatches, w.HBox([listing, w.VBox([remove, picker])]), status])


def _still(session: HintSession, grey: np.ndarray, scale: float) -> str:
    """The editor's current state as a base64 JPEG: the grey photo with its points beside the colorization."""
    import base64

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
    axes[0].imshow(grey)
    for x, y, c in session.points:
        axes[0].scatter([(x + 0.5) * scale], [(y + 0.5) * scale], s=80, c=session.shown(c, x, y), edgecolors="white",
                        linewidths=1.5)
    axes[1].imshow(_display(session.result, grey.shape[1]))
    axes[0].set_title(f"{len(session.points)} point(s): click to add")
    axes[1].set_title(f"colorized, PSNR {session.psnr():.1f} dB")
    for ax in axes:
        ax.axis("off")
    return base64.b64encode(figure_bytes(fig)).decode("ascii")
