"""The front page and the docs stay navigable: every relative link and image resolves, anchors name real headings,
the README stays a front page, and the licence and citation files exist."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted([README, *(ROOT / "docs").rglob("*.md")])

FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target); the text may hold one level of brackets (e.g. an image inside a link)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto: ...


def prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code, where links are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation except '-' dropped, spaces -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.lower().replace("`", "")
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a page, numbered the way GitHub numbers repeated headings (-1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        out.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return out


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text(encoding="utf-8"))) if not EXTERNAL.match(t)]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and resolved.is_file() and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    return broken


def test_the_docs_have_pages_to_check():
    assert README in PAGES and len(PAGES) > 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_in_the_docs_resolves(page):
    assert not broken_links(page), f"{page.relative_to(ROOT)}: " + "; ".join(broken_links(page))


def test_every_docs_page_is_reachable_from_the_readme():
    reached, frontier = {README.resolve()}, [README.resolve()]
    while frontier:
        page = frontier.pop()
        for target in relative_links(page):
            path_part = target.partition("#")[0]
            linked = (page.parent / unquote(path_part)).resolve() if path_part else page
            if linked.suffix == ".md" and linked.is_file() and linked not in reached:
                reached.add(linked)
                frontier.append(linked)
    unreached = [str(p.relative_to(ROOT)) for p in PAGES if p.resolve() not in reached]
    assert not unreached, f"docs pages no link leads to from README.md: {unreached}"


def test_the_readme_is_a_front_page_of_at_most_250_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_readme_shows_a_picture_and_both_make_commands_on_its_first_screen():
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:40])
    assert re.search(r"!\[[^\]]*\]\([^)]+\.(png|gif|jpg|jpeg|webp|svg)\)", first_screen, re.I), "no image"
    assert "make demo" in first_screen and "make test" in first_screen


def test_the_licence_and_the_citation_file_exist_and_cite_genie():
    assert (ROOT / "LICENSE").is_file()
    assert "MIT" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert "cff-version: 1.2.0" in citation
    assert "Genie" in citation and "2402.15391" in citation


@pytest.mark.parametrize(("heading", "slug"), [
    ("Results", "results"),
    ("The default world (16 codes, held-action CoinRun)", "the-default-world-16-codes-held-action-coinrun"),
    ("Settings ([`genie/configs/dream.yaml`](../genie/configs/dream.yaml), section `play:`)",
     "settings-genieconfigsdreamyaml-section-play"),
    ("More dynamics steps walk, but lose the player", "more-dynamics-steps-walk-but-lose-the-player"),
    ("Co-training LAM and dynamics: `stage=world` (2026-11-24)", "co-training-lam-and-dynamics-stageworld-2026-11-24"),
])
def test_anchors_follow_githubs_slug_rules(heading, slug):
    assert github_slug(heading) == slug
