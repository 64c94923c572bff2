"""Every code block a user reads in README.md and docs/ is kept honest.

Python blocks run as written, each in a fresh interpreter, against the bundled ModelArk-compatible server:
the only change is ModelArk's URL replaced by the server's, and the environment a reader would have
(``ARK_API_KEY``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``; ``ARKTRACE_BACKENDS=console`` so spans show on
stderr). A block that cannot run this way says why in an HTML comment on the line before it,
``<!-- not run: <reason> -->``, and those are counted here. Shell blocks name only ``arktrace``
subcommands and options that exist.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.once


def _root() -> Path:
    # found from here, not a fixed depth, so the test can live in any folder under tests/
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise RuntimeError("no pyproject.toml above the tests")


ROOT = _root()
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MODELARK_URL = "https://ark.ap-southeast.bytepluses.com/api/v3"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
NOT_RUN = re.compile(r"<!--\s*not run:(.*?)-->")
# Blocks deliberately not run, each with its reason beside it. Raise this only with a reason a reader
# would accept: a snippet that is not run is a snippet that can silently go wrong.
EXPECTED_NOT_RUN = 0

FENCE = re.compile(r"^(\s*)```([\w+-]*)\s*$")


@dataclass
class Block:
    path: Path
    line: int
    language: str
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, language = opening.groups()
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = lines[i + 1 : end]
        code = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in body)
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = NOT_RUN.search(lines[before]) if before >= 0 else None
        found.append(Block(path, i + 1, language, code, marker.group(1).strip() if marker else None))
        i = end + 1
    return found


BLOCKS = [block for path in DOCUMENTS for block in _blocks(path)]
PYTHON = [b for b in BLOCKS if b.language == "python" and b.not_run is None]
# a block without a language showing a session (`$ arktrace check`) is shell too
SHELL = [
    b
    for b in BLOCKS
    if b.language in SHELL_LANGUAGES
    or (not b.language and any(line.startswith("$ ") for line in b.code.splitlines()))
]


def test_the_documents_have_blocks_to_check():
    # a parser that finds nothing would pass every test below
    assert len(PYTHON) >= 5, [b.where for b in PYTHON]
    assert len(SHELL) >= 3, [b.where for b in SHELL]
    assert any(b.path.name == "README.md" for b in PYTHON)


def test_blocks_not_run_are_counted_and_say_why():
    marked = [b for b in BLOCKS if b.not_run is not None]
    for block in marked:
        assert block.not_run, f"{block.where}: `<!-- not run: ... -->` needs a reason"
        assert block.language == "python", f"{block.where}: only python blocks are run, nothing to exempt"
    assert len(marked) == EXPECTED_NOT_RUN, [(b.where, b.not_run) for b in marked]


def _env(server) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ARK_API_KEY="test-key",
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=server.base_url,
        ARKTRACE_BACKENDS="console",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.parametrize("block", PYTHON, ids=[b.where for b in PYTHON])
def test_python_block_runs(block, server, tmp_path):
    code = block.code.replace(MODELARK_URL, server.base_url)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # no .env of the repository's
        env=_env(server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.where}\n{done.stdout}\n{done.stderr}"
    if "arktrace.init(" in code and ".create(" in code:
        # the call was traced: the console backend printed its span
        assert '"gen_ai.operation.name"' in done.stderr, f"{block.where}: no span\n{done.stderr}"


def _subcommands() -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "arktrace", "no-such-command"], capture_output=True, text=True, timeout=60
    )
    listed = re.search(r"choose from (.*?)\)", done.stderr)
    assert listed, done.stderr
    return {name.strip(" '\"") for name in listed.group(1).split(",")}


COMMAND = re.compile(r"(?:^|[\s;&|(])(?:python -m )?arktrace\s+([a-z][\w-]*)((?:\s+--?[a-z][\w-]*)*)")


def _named_commands() -> list[tuple[Block, str, list[str]]]:
    named = []
    for block in SHELL:
        lines = block.code.splitlines()
        if not block.language:  # a session: the commands, not what they printed
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        for match in COMMAND.finditer("\n".join(lines)):
            named.append((block, match.group(1), match.group(2).split()))
    return named


def test_shell_blocks_name_real_subcommands_and_options():
    subcommands = _subcommands()
    assert {"run", "check", "demo", "prices"} <= subcommands
    named = _named_commands()
    assert named, "the shell blocks name no arktrace command"
    helps: dict[str, str] = {}
    for block, command, options in named:
        assert command in subcommands, f"{block.where}: `arktrace {command}` does not exist"
        for option in options:
            if option == "--":
                continue
            if command not in helps:
                helps[command] = subprocess.run(
                    [sys.executable, "-m", "arktrace", command, "--help"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                ).stdout
            assert option in helps[command], f"{block.where}: `arktrace {command} {option}` is not an option"


def test_a_misnamed_subcommand_is_noticed():
    # the check above must be able to fail: a block naming a command that does not exist
    fake = Block(ROOT / "README.md", 0, "bash", "arktrace chek --all", None)
    (match,) = COMMAND.finditer(fake.code)
    assert match.group(1) == "chek" and match.group(1) not in _subcommands()


TEST_REFERENCE = re.compile(r"(test_[\w*]+\.py)?(?:::)?([\w*]*)")


def _tests_named(path: Path) -> list[tuple[int, str, str]]:
    """(line, file, function pattern) for every test the document names in backticks; ``::name`` and a
    bare ``test_name`` belong to the file named last on the same line."""
    named = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        current = None
        for token in re.findall(r"`([^`]+)`", line):
            if not token.startswith(("test_", "::")):
                continue
            match = TEST_REFERENCE.fullmatch(token)
            if not match:
                continue
            file, function = match.groups()
            current = file or current
            named.append((number, current, function))
    return named


def test_tests_named_in_the_docs_exist():
    import fnmatch

    tests = ROOT / "tests"
    functions: dict[str, set[str]] = {}
    for file in tests.rglob("test_*.py"):
        functions.setdefault(file.name, set()).update(
            re.findall(r"^\s*(?:async )?def (test_\w+)", file.read_text(encoding="utf-8"), re.M)
        )
    checked = 0
    for path in DOCUMENTS:
        for line, file, function in _tests_named(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            assert file in functions, f"{where}: no test file {file}"
            if function:
                assert fnmatch.filter(functions[file], function), f"{where}: no test {file}::{function}"
            checked += 1
    assert checked >= 40  # docs/guarantees.md names the tests behind each promise


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for a document's headings."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#+ (.*)", line)
        if heading:
            anchors.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return anchors


def test_links_between_the_documents_resolve():
    # the README's content moved to docs/: a link left pointing at a section that moved goes nowhere
    broken = []
    for path in [*DOCUMENTS, ROOT / "benchmarks" / "README.md"]:
        in_code = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if target.startswith(("http://", "https://", "mailto:")):
                    continue
                file, _, anchor = target.partition("#")
                resolved = (path.parent / file).resolve() if file else path
                if not resolved.exists() or (
                    anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)
                ):
                    broken.append(f"{path.relative_to(ROOT)}:{number}: {target}")
    assert broken == []
