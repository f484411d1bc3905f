"""The model registry: presets by name, `build_model(name, head=..., **options)`, parameter counts.

A family registers a builder under a preset name with its default head and options:

    @register("zhang", head="classify", description="Zhang et al. full net")
    def _zhang(head: str, width: float = 1.0, simplified: bool = False) -> Colorizer: ...

The builder's keyword parameters (besides `head`) are the preset's valid options; `register(...,
**defaults)` fixes option defaults for that preset, so one builder serves several presets.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

from .heads import check_head


@dataclass(frozen=True)
class Preset:
    """One registered model: a builder, its default head, option defaults and a one-line description."""

    name: str
    builder: Callable[..., nn.Module]
    head: str
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def options(self) -> list[str]:
        """The option names the builder accepts (all keyword parameters except `head`)."""
        params = inspect.signature(self.builder).parameters
        return [p for p in params if p != "head"]


MODEL_PRESETS: dict[str, Preset] = {}


def register(name: str, *, head: str, description: str = "", **defaults: Any) -> Callable:
    """Decorator: register `builder(head=..., **options)` under `name` with a default head and options."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODEL_PRESETS:
            raise ValueError(f"register: model {name!r} is already registered")
        check_head(head, f"register({name!r})")
        preset = Preset(name, builder, head, dict(defaults), description)
        unknown = sorted(set(defaults) - set(preset.options()))
        if unknown:
            raise ValueError(f"register({name!r}): unknown default options {unknown}; "
                             f"valid options: {', '.join(preset.options())}")
        MODEL_PRESETS[name] = preset
        return builder

    return wrap


def list_models() -> list[str]:
    """Names of all registered presets, sorted."""
    return sorted(MODEL_PRESETS)


def build_model(name: str, head: str | None = None, **options: Any) -> nn.Module:
    """Build the preset `name` with an optional head override and options; sets `model.spec` for rebuilding."""
    if name not in MODEL_PRESETS:
        raise ValueError(f"build_model: unknown model {name!r}; valid models: {', '.join(list_models())}")
    preset = MODEL_PRESETS[name]
    valid = preset.options()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"build_model({name!r}): unknown options {unknown}; valid options: {', '.join(valid)}")
    head = check_head(preset.head if head is None else head, f"build_model({name!r})")
    merged = {**preset.defaults, **options}
    model = preset.builder(head=head, **merged)
    # Every option with its resolved value, so the spec survives later changes of preset defaults.
    params = inspect.signature(preset.builder).parameters
    resolved = {k: merged.get(k, params[k].default) for k in valid}
    model.spec = {"name": name, "head": head, **resolved}
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of `model` (all of them, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
