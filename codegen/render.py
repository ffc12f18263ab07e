"""The one Jinja2 environment all C is rendered with, and float literals that
carry a float32 value into C exactly."""
from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def c_float(value: float) -> str:
    """An exact C99 hex float literal of value rounded to float32, e.g. 0x1.4f8b58p-17f."""
    v = float(np.float32(value))
    if v == 0:
        return "0.0f"
    mantissa, exponent = v.hex().split("p")
    return f"{mantissa.rstrip('0').rstrip('.')}p{exponent}f"


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["c_float"] = c_float
    return env


def render(env: jinja2.Environment, template: str, **context) -> str:
    return env.get_template(template).render(template_name=template, **context)


def template_files() -> list[Path]:
    """Every template, for build dependencies."""
    return sorted(TEMPLATE_DIR.glob("*.jinja"))
