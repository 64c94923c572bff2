"""Every setting arktrace reads, rendered for people: ``arktrace run --help`` and the settings reference.

The options come from the one option table (``arktrace._options.OPTIONS``), the backend variables from
the backend modules (``arktrace.backends``), each describing its own. ``scripts/gen_settings_reference.py``
writes :func:`markdown` into the docs; the tests check that each variable named here changes what the
code does.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from ._options import NOT_MISSPELLINGS, OPTIONS, Option
from .backends import PRESETS

__all__ = ["BACKEND_VARIABLES", "NOT_MISSPELLINGS", "OPTIONS", "Option", "help_text", "markdown"]


# Every variable a backend module reads: name -> (default, meaning), as each module describes its own.
BACKEND_VARIABLES: dict[str, tuple[str, str]] = {
    name: described for preset in PRESETS.values() for name, described in preset.variables.items()
}


def _keyword(option: Option) -> str:
    if option.keyword is None:
        return "—"
    return f"`{option.keyword}` ({', '.join(f'{f}()' for f in option.functions)})"


def _variables(option: Option) -> str:
    # the winning variable first, as `arktrace run --help` lists them
    return " or ".join(f"`{name}`" for name in reversed(option.env)) or "—"


def _value(default: str) -> str:
    """A literal default as code; a description of one ("the global provider") as words."""
    return default if " " in default or default in ("unset", "none") else f"`{default}`"


def _backend_rows() -> Iterator[tuple[str, str, str, str]]:
    for preset in PRESETS.values():
        for name, (default, meaning) in preset.variables.items():
            if name in preset.detect_vars:
                meaning += " Setting it selects this backend."
            yield preset.title, name, default, meaning


def markdown() -> str:
    """The README's settings reference (the text between its markers)."""
    lines = [
        "| option | env var | default | effect |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        cells = (_keyword(option), _variables(option), _value(option.default), option.effect)
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Backend variables, read by `init()` and `arktrace check` (see [Backends](#backends)):",
        "",
        "| backend | env var | default | meaning |",
        "|---|---|---|---|",
    ]
    for title, name, default, meaning in _backend_rows():
        lines.append(f"| {title} | `{name}` | {_value(default)} | {meaning} |")
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    return text.replace("`", "")


def help_text(width: int = 100) -> str:
    """The settings part of ``arktrace run --help``: every option and backend variable."""
    indent = " " * 6
    out = ["settings (environment variables; the keyword of init()/instrument() in brackets):", ""]
    for option in OPTIONS:
        names = " or ".join(reversed(option.env)) if option.env else "(no variable)"
        keyword = f"  [{option.keyword}=]" if option.keyword else ""
        out.append(f"  {names}{keyword}")
        body = f"default {option.default}. {_plain(option.effect)}"
        out += textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=indent)
    out += ["", "backend variables (read by init() and `arktrace check`):", ""]
    for title, name, default, meaning in _backend_rows():
        body = f"{title}; default {default}. {_plain(meaning)}"
        out.append(f"  {name}")
        out += textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=indent)
    return "\n".join(out) + "\n"
