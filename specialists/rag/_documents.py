"""Reading documents (text, Markdown, HTML, PDF) and cutting them into chunks that keep
paragraphs whole, start at headings, and overlap by one sentence."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from trifecta.errors import UserError
from trifecta.specialists.rag._text import sentences

__all__ = ["MAX_FILE_BYTES", "Chunk", "DocumentError", "chunk_text", "read_document", "walk"]

MAX_FILE_BYTES = 20_000_000
TARGET_CHARS = 900
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text"}
HTML_SUFFIXES = {".html", ".htm"}


class DocumentError(UserError):
    """A file that cannot be ingested; the message says why (empty, binary, ...)."""


@dataclass(frozen=True)
class Chunk:
    """A passage: `id` is a hash of source and content, stable across re-ingestion."""

    id: str
    source: str
    title: str
    section: str
    position: int
    text: str


_BLOCK_TAGS = frozenset(
    ["p", "div", "li", "br", "tr", "section", "article", "table", "ul", "ol", "pre", "blockquote"]
)


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript"):
            self.skip = max(0, self.skip - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise DocumentError("PDF support needs pypdf: pip install 'trifecta[rag]'") from exc
    try:
        pages = PdfReader(str(path)).pages
        return "\n\n".join(page.extract_text() or "" for page in pages)
    except Exception as exc:  # pypdf raises many types on damaged files
        raise DocumentError(f"unreadable PDF: {exc}") from exc


def read_document(path: Path) -> str:
    """The text of a file, or `DocumentError` saying why it is skipped."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DocumentError(f"larger than {MAX_FILE_BYTES:,} bytes ({size:,})")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(path)
    else:
        raw = path.read_bytes()
        if b"\x00" in raw[:8192]:
            raise DocumentError("binary file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"not UTF-8 text (byte {exc.start})") from exc
        if suffix in HTML_SUFFIXES:
            parser = _HTMLText()
            parser.feed(text)
            text = "".join(parser.parts)
    if not text.strip():
        raise DocumentError("empty")
    return text


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink resolved, stays under `root` (resolved)."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def walk(paths: list[Path], follow_symlinks: bool = False) -> tuple[list[Path], list[str]]:
    """Every ingestible file under `paths` (files as given; folders recursively), and
    what was skipped with the reason: a symlink in a folder that leads outside it
    (e.g. to ``/etc/passwd``) unless `follow_symlinks`."""
    out: list[Path] = []
    skipped: list[str] = []
    suffixes = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf"}
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        root = path.resolve()
        for found in sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes):
            if not follow_symlinks and not _inside(found, root):
                skipped.append(
                    f"{found}: a symlink leading outside {path} (allow with --follow-symlinks)"
                )
            elif found.is_file():
                out.append(found)
    return out, skipped


def _blocks(text: str) -> list[tuple[str, str]]:
    """(heading, paragraph) pairs; a heading line starts a new section."""
    section, out = "", []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.strip().splitlines() if line.strip()]
        while lines and re.match(r"^#{1,6}\s", lines[0]):
            section = lines.pop(0).lstrip("#").strip()
        if lines:
            out.append((section, " ".join(line.strip() for line in lines)))
    return out


def chunk_text(text: str, source: str, title: str | None = None) -> list[Chunk]:
    """Chunks of about `TARGET_CHARS` characters: paragraphs stay whole, a new heading
    starts a new chunk, and each chunk repeats the previous chunk's last sentence."""
    blocks = _blocks(text)
    heading = re.search(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)
    title = title or (heading.group(1).strip() if heading else Path(source).stem)
    groups: list[tuple[str, list[str]]] = []
    for section, paragraph in blocks:
        if (
            groups
            and groups[-1][0] == section
            and sum(map(len, groups[-1][1])) + len(paragraph) <= TARGET_CHARS
        ):
            groups[-1][1].append(paragraph)
        else:
            groups.append((section, [paragraph]))
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    previous = ""
    for position, (section, paragraphs) in enumerate(groups):
        body = "\n\n".join(paragraphs)
        overlap = sentences(previous)[-1] if previous and groups[position - 1][0] == section else ""
        text_ = "\n".join(filter(None, [section and f"# {section}", overlap, body]))
        key = hashlib.sha256(f"{source}\x00{text_}".encode()).hexdigest()[:24]
        seen[key] = seen.get(key, -1) + 1
        chunk_id = key if not seen[key] else f"{key}-{seen[key]}"
        chunks.append(Chunk(chunk_id, source, title, section, position, text_))
        previous = body
    return chunks
