"""The architecture's two import rules: the core never imports a plugin, and plugins (their tests
included) never import each other. What two plugins share belongs in the core; a test that needs
another plugin's model reaches it through a plugin manager (``gan.testing.fresh_manager``)."""

from __future__ import annotations

import ast
from pathlib import Path

from gan.plugins import BUILTIN_PLUGINS

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_PACKAGES = {module.split(".")[0] for _, module in BUILTIN_PLUGINS} - {"gan"}


def _imported_packages(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level package)`` of every import statement in ``path``, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def _violations(files: list[Path], allowed: str | None) -> list[str]:
    return [f"{f.relative_to(ROOT)}:{line} imports {pkg}" for f in files
            for line, pkg in _imported_packages(f) if pkg in PLUGIN_PACKAGES and pkg != allowed]


def test_the_scan_sees_every_builtin_plugin_and_finds_a_planted_import(tmp_path):
    assert PLUGIN_PACKAGES == {p.name for p in (ROOT / "plugins").iterdir() if (p / "plugin.py").is_file()}
    planted = tmp_path / "x.py"
    planted.write_text("def f():\n    from gan_translation.common import TranslationRecipe\n")
    assert _imported_packages(planted) == [(2, "gan_translation")]


def test_plugins_never_import_each_other():
    bad = []
    for package in sorted(PLUGIN_PACKAGES):
        bad += _violations(sorted((ROOT / "plugins" / package).rglob("*.py")), allowed=package)
    assert not bad, "a plugin imports another plugin:\n" + "\n".join(bad)


def test_the_core_imports_no_plugin():
    bad = _violations(sorted((ROOT / "core" / "gan").rglob("*.py")), allowed=None)
    assert not bad, "the core imports a plugin:\n" + "\n".join(bad)
