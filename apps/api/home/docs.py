"""The repository's ``docs/`` folder as HTML pages: the Markdown files under it and nothing else."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from markdown_it import MarkdownIt

DOCS_DIR = Path(settings.BASE_DIR) / "docs"


@dataclass(frozen=True)
class DocPage:
    path: str  # relative to docs/, with its .md suffix: also the page's URL under /docs/
    title: str


@cache
def _markdown() -> MarkdownIt:
    # "js-default": CommonMark plus tables and strikethrough, with raw HTML off (a doc cannot inject markup).
    return MarkdownIt("js-default")


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def doc_file(relative: str) -> Path | None:
    """The Markdown file ``relative`` names inside docs/, or None for anything else (other suffixes, ``..``,
    absolute paths, symlinks leading out of docs/, missing files)."""
    root = DOCS_DIR.resolve()
    candidate = (root / relative).resolve()
    if candidate.suffix != ".md" or not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def doc_pages() -> list[DocPage]:
    """Every Markdown file under docs/, top-level files first, each with the title of its first heading."""
    root = DOCS_DIR.resolve()
    files = sorted(root.rglob("*.md"), key=lambda file: (len(file.relative_to(root).parts), str(file)))
    return [DocPage(str(file.relative_to(root)), _title(file.read_text(), file.stem)) for file in files]


def doc_render(file: Path) -> tuple[str, str]:
    """(title, HTML body) of one Markdown file. Relative links between docs keep working, since each page is
    served under /docs/ at its own path."""
    text = file.read_text()
    return _title(text, file.stem), _markdown().render(text)
