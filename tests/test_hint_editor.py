"""Notebook 08's hint editor: the session's points, palette and colours, and the widgets' clicks and buttons."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb

import colorkit as ck
from colorkit.hint_editor import HintSession, hint_editor
from colorkit.hint_points import hints_from_points, load_hints_file
from colorkit.hints import hint_input


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ck.build_model("zhang_hints", width=0.125).eval()


@pytest.fixture(scope="module")
def pretrained():
    return ck.load_pretrained("hints", "cpu")[0]


@pytest.fixture(scope="module")
def photo():
    return ck.load_dataset("embedded", "test", limit=4).images[1]  # (3, 32, 32) uint8


def test_session_refuses_what_it_cannot_use(model, photo):
    with pytest.raises(ValueError, match="has no hint input"):
        HintSession(ck.build_model("zhang_simplified", width=0.125), photo)
    with pytest.raises(ValueError, match=r"expected a uint8 RGB image \(3, H, W\), got torch.float32"):
        HintSession(model, photo.float())
    session = HintSession(model, photo)
    with pytest.raises(ValueError, match=r"point 0 \(x=40, y=3\) lies outside the 32 x 32 image"):
        session.add(40, 3, "#ff0000")
    with pytest.raises(IndexError, match="no point 0; there are 0"):
        session.remove(0)
    with pytest.raises(ValueError, match="expected a colour as '#rrggbb'"):
        session.add(3, 3, "red")
    assert session.points == []  # nothing half-added


def test_points_are_added_moved_recoloured_removed_and_saved(model, photo, tmp_path):
    session = HintSession(model, photo)
    assert session.add(3, 4, "#ff0000") == 0
    first = session.palette(10, 11, 1)[0][2]  # the most probable bin's (a, b), given the point above
    assert session.add(10, 11) == 1 and session.points[1][2] == first  # None: the palette's first colour
    assert any(tuple(b) == first for b in ck.ab_bins().tolist())
    session.move(0, 20, 21)
    session.recolour(1, (-30.0, 40.0))
    assert session.points == [[20, 21, "#ff0000"], [10, 11, (-30.0, 40.0)]]
    (tmp_path / "h.json").write_text(json.dumps(session.to_json()))
    assert load_hints_file(tmp_path / "h.json") == [(20, 21, "#ff0000"), (10, 11, [-30.0, 40.0])]


def test_the_model_sees_exactly_the_colour_given_on_a_larger_non_square_photo(pretrained):
    photo = ck.load_photos([ck.data.photos.write_sample_photos(ck.data.cache_dir_path(None) / "t08", ["coffee"])
                            / "coffee.jpg"], size=None).images[0][:, :96, :160]  # (3, 96, 160)
    seen = []
    handle = pretrained.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    try:
        session = HintSession(pretrained, photo, size=32)  # work size (24, 32): one model pixel is 4 x 5 photo pixels
        before = session.result
        session.add(100, 40, (-30.0, 40.0))  # a green that cannot be drawn at every lightness
    finally:
        handle.remove()
    x = seen[-1]  # (1, 4, 24, 32): L, a, b, mask as the model received them
    assert tuple(x.shape) == (1, 4, 24, 32) and session.work == (24, 32)
    hinted = torch.nonzero(x[0, 3] > 0).tolist()
    assert hinted and all(abs(r - 40 * 24 / 96) <= 1 and abs(c - 100 * 32 / 160) <= 1 for r, c in hinted)
    for r, c in hinted:  # the hint arrives as the exact (a, b) given, not a colour clipped to the screen
        assert torch.allclose(x[0, 1:3, r, c], torch.tensor([-30.0, 40.0]), atol=1e-4)
    assert not torch.allclose(session.result, before, atol=1e-3)  # and it changes the colours


def test_palette_is_the_models_distribution_at_the_pixel(pretrained, photo):
    model = pretrained
    session = HintSession(model, photo)
    session.add(9, 9, "#2040c0")
    L = ck.split_lab(ck.uint8_to_float(photo[None]))[0]
    with torch.no_grad():  # an independent forward pass: L + hint maps, logits at 1/4 resolution
        logits = model(hint_input(L, *hints_from_points([(9, 9, "#2040c0")], 32)))[0]  # (313, 8, 8)
    x, y = 21, 14
    probs = torch.softmax(logits[:, y // 4, x // 4], dim=0)
    assert torch.allclose(session.distribution(x, y), probs, atol=1e-5)
    palette = session.palette(x, y, k=5)
    top = torch.argsort(probs, descending=True)[:5]
    assert [round(p, 5) for _, p, _ in palette] == [round(float(probs[i]), 5) for i in top]
    assert [ab for _, _, ab in palette] == [tuple(ck.ab_bins()[i].tolist()) for i in top]
    lab = np.stack([np.full(5, float(L[0, 0, y, x])), *ck.ab_bins()[top].T.numpy()], axis=1)  # (5, 3)
    want = np.clip(lab2rgb(lab[None].astype(np.float64))[0], 0, 1)
    got = np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c, _, _ in palette])
    assert np.abs(got - want).max() <= 1 / 255 + 1e-6


def test_true_colour_points_lift_psnr_of_the_pretrained_model(pretrained):
    model = pretrained
    images = ck.load_dataset("embedded", "test", limit=16).images
    gains = []
    for image in images:
        session = HintSession(model, image)
        before = session.psnr()
        ab = ck.split_lab(ck.uint8_to_float(image[None]))[1][0]
        for x, y in [(4, 4), (4, 27), (27, 4), (27, 27), (16, 16), (10, 20), (20, 10), (16, 4), (4, 16), (27, 16)]:
            session.add(x, y, tuple(ab[:, y, x].tolist()))
        gains.append(session.psnr() - before)
    assert float(np.mean(gains)) > 1.0, gains


def _click(canvas, x: float, y: float) -> None:
    canvas._mouse_down_callbacks(x, y)  # what ipycanvas calls when the front end reports a mouse-down


def test_editor_clicks_buttons_and_still_picture(model, photo):
    session = HintSession(model, photo)
    editor = hint_editor(session, side=128, k=4)  # 4 px of the canvas per pixel of the photo
    mode, canvases, swatches, lists, status = editor.children
    (left, right), (listing, side_box) = canvases.children, lists.children
    remove, picker = side_box.children
    _click(left, 41, 81)
    assert session.points[0][:2] == [10, 20] and listing.value == 0 and status.value.startswith("1 point(s)")
    palette = session.palette(10, 20, 4)  # what the buttons were made from
    colours = [b for b in swatches.children if hasattr(b, "style") and hasattr(b.style, "button_color")]
    assert [b.style.button_color for b in colours] == [c for c, _, _ in palette]
    colours[2].click()
    assert session.points[0][2] == palette[2][2]  # the bin's exact (a, b), not its drawn hex
    assert picker.value == session.shown(palette[2][2], 10, 20)  # the picker shows the selected point's colour
    mode.value = "move"
    _click(left, 4, 8)
    assert session.points == [[1, 2, palette[2][2]]]
    mode.value = "add"
    _click(left, 120, 120)
    _click(left, 60, 100)
    picker.value = "#ff8000"  # the free colour picker recolours the selected (newest) point
    middle = session.points[1][2]
    assert [p[2] for p in session.points] == [palette[2][2], middle, "#ff8000"]
    listing.value = 0
    remove.click()  # remove the first point: its neighbour (now first) is selected next, not the last
    assert len(session.points) == 2 and listing.value == 0 and status.value.startswith("2 point(s)")
    listing.value = None
    picker.value = "#0000ff"  # nothing selected: nothing recoloured, the status says why
    mode.value = "move"
    _click(left, 10, 10)  # nothing selected: no point moved or added
    assert [p[2] for p in session.points] == [middle, "#ff8000"] and "select" in status.value
    _click(left, 127.9, 127.9)  # the canvas border clamps to the last pixel
    mode.value = "add"
    _click(left, 127.9, 127.9)
    assert session.points[-1][:2] == [31, 31]
    bundle = editor._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["image/jpeg"].startswith("/9j/")
