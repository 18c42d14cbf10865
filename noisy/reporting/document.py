"""A document as a list of sections, rendered to Markdown or to self-contained HTML.

Text in paragraphs and bullets is Markdown inline text (`code`, **bold**,
*italic*); tables hold (text, css class) cells; images are embedded in the HTML, styled
by :data:`CSS`.
"""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

# The HTML page's style: table cells coloured by their class (a row's status: agrees,
# spread, differs, suspect, missing; a key, a value, the paper's value), figures in a
# gallery, small ones for the confusion matrices.
CSS = """body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}
td.key{text-align:left;font-weight:600}td.paper{color:#555}
td.agrees{background:#d8f0d8}td.differs{background:#f7d4d4}td.spread{background:#fbeec2}
td.suspect{background:#e4e4e4}td.missing{color:#888}
figure{display:inline-block;margin:0.5em;vertical-align:top}
figure img{max-width:100%}figure.small img{width:260px}figcaption{font-size:12px}"""


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    """Rows of (text, css class) cells under plain-text headers."""

    headers: list[str]
    rows: list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str


@dataclass(frozen=True)
class Gallery:
    """Figures with their captions, then the paths of those not built."""

    figures: list[Figure]
    absent: list[str]
    css: str = ""


Block = Paragraph | Bullets | Table | Gallery


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: list[Block]
    level: int = 2


def _markdown_block(block: Block, md_dir: Path) -> list[str]:
    match block:
        case Paragraph(text):
            return [text]
        case Bullets(items):
            return [f"- {item}" for item in items]
        case Table(headers, rows):
            return (["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
                    + ["| " + " | ".join(text for text, _ in row) + " |" for row in rows])
        case Gallery(figures, absent):
            lines = []
            for figure in figures:
                lines += [f"![{figure.caption}]({os.path.relpath(figure.path, md_dir)})", "",
                          f"*{figure.caption}*", ""]
            if absent:
                lines += ["Not built: " + ", ".join(f"`{path}`" for path in absent), ""]
            return lines
    raise TypeError(f"not a block: {block!r}")


def to_markdown(sections: list[Section], md_dir: Path) -> str:
    """Markdown with images linked by their path relative to ``md_dir``."""
    lines = []
    for section in sections:
        if lines:
            lines.append("")
        lines.append("#" * section.level + " " + section.heading)
        for block in section.blocks:
            lines += [""] + _markdown_block(block, md_dir)
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Markdown's `code`, **bold** and *italic* as HTML (enough for this report's prose)."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", text)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_block(block: Block) -> list[str]:
    match block:
        case Paragraph(text):
            return [f"<p>{_inline(text)}</p>"]
        case Bullets(items):
            return ["<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>"]
        case Table(headers, rows):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f'<td class="{css}">{html.escape(text)}</td>'
                                            for text, css in row) + "</tr>" for row in rows)
            return [f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"]
        case Gallery(figures, absent, css):
            lines = [f'<figure class="{css}"><img src="{_data_uri(figure.path)}" '
                     f'alt="{html.escape(figure.caption)}"><figcaption>'
                     f"{html.escape(figure.caption)}</figcaption></figure>" for figure in figures]
            if absent:
                lines.append(f"<p>Not built: {html.escape(', '.join(absent))}</p>")
            return lines
    raise TypeError(f"not a block: {block!r}")


def to_html(sections: list[Section], title: str, css: str = CSS) -> str:
    """One HTML page with ``css`` inlined and every image embedded."""
    lines = []
    for section in sections:
        lines.append(f"<h{section.level}>{html.escape(section.heading)}</h{section.level}>")
        for block in section.blocks:
            lines += _html_block(block)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f"</title><style>{css}</style></head><body>" + "\n".join(lines)
            + "</body></html>\n")
