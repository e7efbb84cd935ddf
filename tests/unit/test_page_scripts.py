"""The page scripts are ES modules served as they are (no bundler): each page template loads its
one page module, and every module that module imports, directly or not, is preloaded by the
template or by base.html, so a page is wired after one round of script requests, not one per level
of imports. A module missing from the preloads would still work, only later."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "src" / "twostep" / "web"
TEMPLATES = WEB / "templates"
JS = WEB / "static" / "js"

SCRIPT = re.compile(r'<script type="module" src="/static/js/([\w-]+\.js)"></script>')
PRELOAD = re.compile(r'<link rel="modulepreload" href="/static/js/([\w-]+\.js)">')
IMPORT = re.compile(r"^import [^;]* from '\./([\w-]+\.js)';$", re.M)


def _imports(module: str) -> set[str]:
    found: set[str] = set()
    todo = [module]
    while todo:
        for name in IMPORT.findall((JS / todo.pop()).read_text()):
            if name not in found:
                found.add(name)
                todo.append(name)
    return found


def test_each_page_loads_its_module_and_preloads_what_it_imports() -> None:
    common = set(PRELOAD.findall((TEMPLATES / "base.html").read_text()))
    used: set[str] = set()
    for template in sorted(TEMPLATES.glob("*.html")):
        html = template.read_text()
        if template.name == "base.html":
            continue
        if template.name.startswith("_"):  # partials: their page's module wires them
            assert not SCRIPT.search(html) and not PRELOAD.search(html), template.name
            continue
        scripts = SCRIPT.findall(html)
        assert len(scripts) == 1, (template.name, scripts)
        own = set(PRELOAD.findall(html))
        assert not own & common, (template.name, own & common)  # each preloaded once
        assert _imports(scripts[0]) == common | own, template.name
        used |= {scripts[0], *_imports(scripts[0])}
    assert used == {p.name for p in JS.glob("*.js")}  # no module that no page loads
