"""Every relative link in the project's Markdown pages leads to a file that exists, and to a heading there;
every package name the pages and the notebooks' prose give (`musicstyle.x.y`) exists, and so does every
command and option of the command line they quote."""

from __future__ import annotations

import argparse
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "data" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NAME = re.compile(r"`(musicstyle(?:\.[A-Za-z_]\w*)+)")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: A quoted command line: ``musicstyle`` and its words, then the rest of the line up to the quote's end, a comment
#: or a pipe (`` | ``; a synopsis's ``test|held-out`` is kept).
COMMAND = re.compile(r"musicstyle((?: [a-z][a-z0-9-]*)+)((?:[^`\n#|]|\|(?! ))*)")
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but hyphens dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", page.read_text(), re.MULTILINE)}


def test_slug_follows_github():
    assert slug('Genre classifier and "jazz-inspired classical"') == "genre-classifier-and-jazz-inspired-classical"
    assert slug("Did the style move?") == "did-the-style-move"


def test_docs_pages_are_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name}" in readme, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in anchors(dest), f"{page.name}: {target} (no such heading)"


def _prose(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    return path.read_text()


def _exists(name: str) -> bool:
    """Whether a dotted name is a module of the package, or an attribute reached from the longest such module."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


@pytest.mark.parametrize("page", PAGES + NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_package_names_in_prose_exist(page):
    names = set(NAME.findall(_prose(page)))
    assert not [n for n in sorted(names) if not _exists(n)], page.name


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    return next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})


def quoted_options(text: str) -> list[tuple[str, str]]:
    """(command, option) of every option a quoted ``musicstyle`` command line gives that its command does not take,
    or (command, word) of a subcommand it does not have. A synopsis's ``{a,b}`` of subcommands is checked as each of
    a and b."""
    from musicstyle.cli import build_parser

    wrong = []
    for m in COMMAND.finditer(text):
        words, rest, parser, path = m.group(1).split(), m.group(2), build_parser(), []
        while words and words[0] in _subcommands(parser):
            parser = _subcommands(parser)[words[0]]
            path.append(words.pop(0))
        if not path:
            continue  # prose ("musicstyle is ...")
        command, parsers = " ".join(path), {" ".join(path): parser}
        if group := _subcommands(parser):  # its next word, or each of a synopsis's {a,b}, names the command
            choices = None if words else re.match(r" \{([\w,|-]+)\}", rest)
            names = re.split(r"[,|]", choices.group(1)) if choices else words[:1]
            rest = rest[choices.end():] if choices else rest
            wrong += [(command, n) for n in names if n not in group]
            parsers = {f"{command} {n}": group[n] for n in names if n in group}
        for name, one in parsers.items():
            known = {o for a in one._actions for o in a.option_strings}
            wrong += [(name, o) for o in OPTION.findall(" ".join(words) + rest) if o not in known]
    return wrong


def test_quoted_options_are_checked():
    assert quoted_options("`musicstyle evaluate velocity --split test --json` and `musicstyle transfer -o x.mid`") == []
    assert quoted_options("`musicstyle evaluate velocity --splt test`") == [("evaluate velocity", "--splt")]
    assert quoted_options("`musicstyle evaluate speed --json`") == [("evaluate", "speed")]
    assert quoted_options("`musicstyle bench {velocity,tokens} --json`") == []
    assert quoted_options("`musicstyle bench {velocity,speed} --json`") == [("bench", "speed")]
    assert quoted_options("`musicstyle bench {velocity,tokens} --files 3`") == [("bench velocity", "--files")]
    assert quoted_options("musicstyle evaluate velocity [--split test|held-out] [--hold-out GROUP] [--seed 1]") == [
        ("evaluate velocity", "--seed")]
    assert quoted_options("`musicstyle judge a.mid --json | jq -r .jazz`") == []


@pytest.mark.parametrize("page", PAGES + NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_commands_and_options_exist(page):
    assert not quoted_options(_prose(page)), page.name
