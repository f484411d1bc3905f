"""Property-based tests (hypothesis) of the parsers that read what a user types or writes: the hints file and
points, the command lines' numeric arguments and the prior loader. Any input gives a result or a one-line error
naming the file or argument, never a traceback or a hang (issue 19)."""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from colorkit import cli, train_cli
from colorkit.hint_points import check_points, load_hints_file
from colorkit.rebalance import load_zhang_prior

FUZZ = settings(max_examples=60, deadline=None, database=None,  # no example files left behind
                suppress_health_check=[HealthCheck.function_scoped_fixture])

numbers = st.one_of(st.integers(), st.integers(min_value=-10 ** 500, max_value=10 ** 500),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans())
scalars = st.one_of(st.none(), numbers, st.text(max_size=12), st.sampled_from(["#ff8800", "#FFFFFF", "#12345"]))
json_like = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["x", "y", "color", "ab", "a.png", "z"]), inner,
                                                 max_size=5)), max_leaves=12)
coords = st.one_of(st.integers(-1, 7), st.floats(-1, 7), numbers)  # often inside a 6 x 5 photo, so colours count
point = st.fixed_dictionaries({"x": coords, "y": coords}, optional={"color": scalars, "ab": st.lists(numbers,
                                                                                                        max_size=3)})
hints_doc = st.one_of(json_like, st.lists(point, max_size=5), st.dictionaries(st.sampled_from(["a.png", "b"]),
                                                                                 st.lists(point, max_size=3)))


def _one_line(exc: BaseException, *needles: str) -> None:
    text = str(exc)
    assert "\n" not in text and len(text) < 1200, text
    for needle in needles:
        assert needle in text, (needle, text)


def _load(raw: bytes):
    """load_hints_file on raw bytes, in a fresh file: (result, None) or (None, the ValueError)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hints.json"
        path.write_bytes(raw)
        try:
            return load_hints_file(path), None
        except ValueError as exc:
            _one_line(exc, "hints: ", str(path))
            return None, exc


def _check_all(loaded) -> None:
    """Every photo's points against a 6 x 5 photo: rows in range, or a one-line ValueError naming the point."""
    for points in (loaded.values() if isinstance(loaded, dict) else [loaded]):
        try:
            rows = check_points(points, (5, 6), "fuzz")
        except ValueError as exc:
            _one_line(exc, "fuzz: ")
            continue
        assert len(rows) == len(points)
        for row, col, a, b in rows:
            assert 0 <= row < 5 and 0 <= col < 6 and abs(a) <= 128 and abs(b) <= 128


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes_as_a_hints_file(raw):
    loaded, _ = _load(raw)
    if loaded is not None:
        _check_all(loaded)


@FUZZ
@given(doc=hints_doc)
def test_any_json_as_a_hints_file(doc):
    loaded, _ = _load(json.dumps(doc).encode())
    if loaded is not None:
        _check_all(loaded)


@FUZZ
@given(text=st.one_of(st.text(alphabet='[]{}"0123456789,.:-eE xyabNInfity#', max_size=80),
                      st.sampled_from(["[" * 100_000, "9" * 5000, '[{"x": 1e999, "y": 0, "ab": [0, 0]}]',
                                       '{"a.png": [{"x": NaN, "y": 0, "color": "#000000"}]}', "\ufeff[]"])))
def test_any_text_as_a_hints_file(text):
    loaded, _ = _load(text.encode())
    if loaded is not None:
        _check_all(loaded)


@FUZZ
@given(points=st.one_of(json_like, st.lists(st.tuples(coords, coords, st.one_of(scalars, st.tuples(numbers,
                                                                                                    numbers))),
                                            max_size=6)))
def test_any_points_for_check_points(points):
    try:
        rows = check_points(points, (5, 6), "fuzz")
    except ValueError as exc:
        _one_line(exc, "fuzz: ")
        return
    assert all(0 <= r < 5 and 0 <= c < 6 and math.isfinite(a) and math.isfinite(b) for r, c, a, b in rows)


@FUZZ
@given(x=st.integers(0, 5), y=st.integers(0, 4), colour=st.one_of(scalars, st.tuples(numbers, numbers),
                                                                   st.lists(numbers, max_size=3)))
def test_any_colour_of_a_point_inside_the_photo(x, y, colour):
    try:
        [(row, col, a, b)] = check_points([(x, y, colour)], (5, 6), "fuzz")
    except ValueError as exc:
        _one_line(exc, "fuzz: point 0")
        return
    assert (row, col) == (y, x) and abs(a) <= 128 and abs(b) <= 128


# ---------------------------------------------------------------- numeric command-line arguments

def _parse(parser: argparse.ArgumentParser, argv: list[str]):
    """parse_args: (namespace, "") or (None, the one error line argparse printed) with exit status 2."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            return parser.parse_args(argv), ""
        except SystemExit as done:
            assert done.code == 2
    errors = [line for line in err.getvalue().splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err.getvalue(), err.getvalue()
    return None, errors[0]


number_text = st.one_of(st.text(max_size=20), st.integers(min_value=-10 ** 60, max_value=10 ** 60).map(str),
                        st.floats(allow_nan=True, allow_infinity=True).map(repr),
                        st.sampled_from(["0", "-0", "1e-200", "1e400", "nan", "-inf", " 7 ", "1_000", "0x10", "1" * 5000]))
TRAIN_FLAGS = {"--epochs": (1, math.inf), "--batch-size": (1, math.inf), "--size": (1, train_cli.MAX_SIZE),
               "--width": (0, train_cli.MAX_WIDTH), "--lr": (0, 1e6), "--lam": (0, 1), "--target-blur": (0, math.inf),
               "--seed": (0, 2 ** 63 - 1), "--prior-sigma": (0, 25)}


@FUZZ
@given(flag=st.sampled_from(sorted(TRAIN_FLAGS)), text=number_text)
def test_train_numeric_arguments(flag, text):
    args, error = _parse(train_cli.build_parser(), ["--model", "x", f"{flag}={text}"])
    if args is None:
        assert f"argument {flag}: expected " in error and len(error) < 300, error
        return
    value, (low, high) = getattr(args, flag[2:].replace("-", "_")), TRAIN_FLAGS[flag]
    assert math.isfinite(value) and low <= value <= high and (value > 0 or flag in ("--lam", "--target-blur",
                                                                                     "--seed", "--prior-sigma"))
    if flag == "--prior-sigma":
        assert value == 0 or 1 <= value


@FUZZ
@given(flag=st.sampled_from(["--batch-size", "--size", "--max-pixels"]), text=number_text)
def test_colorize_integer_arguments(flag, text):
    args, error = _parse(cli.build_parser(), ["colorize", "in", "-o", "out", f"{flag}={text}"])
    if args is None:
        assert f"argument {flag}: expected an int >= 1, got " in error and len(error) < 300, error
    else:
        assert getattr(args, flag[2:].replace("-", "_")) >= 1


@FUZZ
@given(flag=st.sampled_from(["--temperature", "--sigma"]), text=number_text)
def test_colorize_temperature_and_prior_sigma_give_a_result_or_one_line(tmp_path, capsys, flag, text):
    """Checked after parsing: exit 2 with one line (the photo does not exist), never a traceback."""
    command = "colorize" if flag == "--temperature" else "prior"
    argv = [command, str(tmp_path / "missing.png"), "-o", str(tmp_path / "out.npy"), f"{flag}={text}"]
    try:
        code = cli.main(argv)
    except SystemExit as done:  # argparse: not a float at all
        code = done.code
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert "missing.png" in errors[0] or flag in errors[0] or "temperature" in errors[0], errors[0]


# ---------------------------------------------------------------- the prior loader

arrays = hnp.arrays(dtype=st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.boolean_dtypes(),
                                    hnp.complex_number_dtypes(), st.just(np.dtype([("p", "f8"), ("q", "i2")]))),
                    shape=st.one_of(st.just((313,)), hnp.array_shapes(max_dims=2, max_side=320)))


def _prior_result(path: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an implausible prior warns; that is a result
            prior = load_zhang_prior(path=path)
    except ValueError as exc:
        _one_line(exc, "load_zhang_prior: ", str(path))
        return
    assert prior.shape == (313,) and prior.dtype == torch.float64 and bool(torch.isfinite(prior).all())
    assert bool((prior >= 0).all()) and abs(float(prior.sum()) - 1) <= 1e-3


@FUZZ
@given(arr=arrays, normalise=st.booleans())
def test_any_array_as_a_prior_file(tmp_path, arr, normalise):
    if normalise and arr.dtype.kind == "f" and arr.size:
        with np.errstate(all="ignore"):
            arr = np.abs(arr) / np.abs(arr).sum()
    path = tmp_path / "prior.npy"
    np.save(path, arr)
    _prior_result(path)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=400), st.sampled_from([b"PK\x03\x04", b"\x93NUMPY\x01\x00", b""])))
def test_any_bytes_as_a_prior_file(tmp_path, raw):
    path = tmp_path / "prior.npy"
    path.write_bytes(raw)
    _prior_result(path)


@pytest.mark.parametrize("name", ["/dev/zero", "folder"])
def test_prior_paths_that_are_not_files(tmp_path, name):
    path = Path("/dev/zero") if name == "/dev/zero" else tmp_path
    with pytest.raises(ValueError) as exc:
        load_zhang_prior(path=path)
    _one_line(exc.value, str(path), "which is a folder" if name == "folder" else "which is not a regular file")
