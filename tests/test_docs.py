"""Docs and code cannot drift: every hookspec is documented, in its docstring and in docs/hooks.md.

For each ``gan_*`` hook in :mod:`gan.hookspecs` this checks that the docstring is substantial and
names every parameter, and that docs/hooks.md has a section for it holding the exact signature as
``inspect.signature`` renders it from the code (change a parameter and this fails until the page
is updated). The reverse holds too: the page documents no hook that does not exist.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from gan import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS_MD = ROOT / "docs" / "hooks.md"
README = ROOT / "README.md"
MIN_DOC_CHARS = 80

HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if name.startswith("gan_") and inspect.isfunction(fn))
SECTION = re.compile(r"^### `(gan_\w+)`[ \t]*$", re.MULTILINE)


def signature_text(name: str) -> str:
    """``gan_on_step_end(trainer: Any, step: int, logs: dict[str, float]) -> None``."""
    fn = getattr(hookspecs, name)
    # eval_str: hookspecs uses `from __future__ import annotations`, so the raw annotations are
    # strings and would render quoted ('Any'); evaluated, they read exactly as in the source.
    return f"{name}{inspect.signature(fn, eval_str=True)}"


def spec_options(name: str) -> dict:
    return getattr(getattr(hookspecs, name), "gan_spec", None) or {}


@pytest.fixture(scope="module")
def hooks_md() -> str:
    assert HOOKS_MD.is_file(), f"{HOOKS_MD} is missing: the hook reference for plugin authors"
    return HOOKS_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sections(hooks_md: str) -> dict[str, str]:
    """``{hook name: its section}``: from a '### `gan_...`' heading to the next heading of level
    1-3 (headings inside fenced code blocks, such as '# comment' lines, do not count)."""
    out: dict[str, str] = {}
    current: str | None = None
    in_code = False
    for line in hooks_md.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,3} ", line):
            m = SECTION.match(line)
            current = m.group(1) if m else None
            if current is not None:
                assert current not in out, f"docs/hooks.md has two sections for {current}"
                out[current] = ""
        if current is not None:
            out[current] += line
    return out


def test_hookspecs_are_found() -> None:
    # Guards the checks below against passing vacuously on an empty list.
    assert len(HOOKS) >= 10, HOOKS
    assert "gan_register_models" in HOOKS and "gan_make_trainer" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hookspec_docstring_explains_every_parameter(name: str) -> None:
    fn = getattr(hookspecs, name)
    assert getattr(fn, "gan_spec", None) is not None, f"{name} is not marked @hookspec"
    doc = inspect.getdoc(fn) or ""
    assert len(doc) >= MIN_DOC_CHARS, f"{name}: docstring has {len(doc)} chars, want >= {MIN_DOC_CHARS}"
    missing = [p for p in inspect.signature(fn).parameters if not re.search(rf"\b{p}\b", doc)]
    assert not missing, f"{name}: docstring does not mention parameter(s) {missing}"


@pytest.mark.parametrize("name", HOOKS)
def test_hooks_md_has_the_exact_signature(name: str, hooks_md: str, sections: dict[str, str]) -> None:
    assert name in sections, f"docs/hooks.md has no section '### `{name}`'"
    expected = signature_text(name)
    assert expected in sections[name], (
        f"docs/hooks.md, section {name}: the signature must appear verbatim as\n    {expected}\n"
        f"(generated from gan.hookspecs with inspect.signature)")
    for param in inspect.signature(getattr(hookspecs, name)).parameters:
        assert f"`{param}`" in sections[name], f"docs/hooks.md, section {name}: `{param}` is not explained"


@pytest.mark.parametrize("name", HOOKS)
def test_hooks_md_states_firstresult_where_the_spec_has_it(name: str, sections: dict[str, str]) -> None:
    section = sections.get(name, "")
    if spec_options(name).get("firstresult"):
        assert "@hookspec(firstresult=True)" in section and "first non-`None`" in section, (
            f"docs/hooks.md, section {name}: say that it is firstresult (the first non-`None` "
            f"result wins) and show @hookspec(firstresult=True)")
    else:
        assert "firstresult=True" not in section, f"docs/hooks.md, section {name}: not a firstresult hook"


def test_hooks_md_documents_no_hook_that_does_not_exist(sections: dict[str, str]) -> None:
    stale = sorted(set(sections) - set(HOOKS))
    assert not stale, f"docs/hooks.md documents hooks that gan.hookspecs does not define: {stale}"


def test_hooks_md_covers_the_plugin_guide(hooks_md: str) -> None:
    for needle in ('[project.entry-points."ganforge.plugins"]', "PluginContract", "-p no:",
                   "GANFORGE_DISABLE_PLUGINS", "--strict-plugins", "replace=True",
                   "examples/third_party_plugin"):
        assert needle in hooks_md, f"docs/hooks.md does not mention {needle!r}"


def test_readme_points_to_the_hook_reference() -> None:
    if not README.is_file():
        pytest.skip("no README.md in this checkout")
    assert "docs/hooks.md" in README.read_text(encoding="utf-8"), "README.md should link docs/hooks.md"
