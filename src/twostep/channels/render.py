"""Email rendering from Jinja2 templates (autoescaped HTML, plain text), one template per message."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


@lru_cache(maxsize=1)
def _env() -> Environment:
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(name: str, context: dict[str, Any]) -> RenderedEmail:
    env = _env()
    subject = env.get_template(f"email/{name}.subject.txt").render(**context).strip()
    text = env.get_template(f"email/{name}.txt").render(**context)
    html_path = TEMPLATES / "email" / f"{name}.html"
    html = env.get_template(f"email/{name}.html").render(**context) if html_path.exists() else None
    # A subject never carries a line break (header injection).
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
