#!/usr/bin/env python3
"""Checks the links of the built book and of Markdown files that point into it.

    check_links.py --book target/book --src docs/src README.md

In the built HTML, every relative `href` and `src` must name a file of the book (a
directory means its index.html) and every `#anchor` an `id` in that page. A relative link
that leaves the book points into the repository (the chapters link to examples/, deploy/
and so on, which GitHub shows beside the book): it is resolved from the chapter's source
in --src and must name a file or directory of the repository (a `.html` that mdBook made
from a `.md` link counts when the `.md` exists).

In each Markdown file given, every relative link must name a file or directory; a link to
a chapter in --src with an `#anchor` must name an `id` of the built chapter, and an
anchor in another Markdown file must be one of its headings.

External links (http, https) are listed, never fetched. Exits 1 on any broken link.
"""

import argparse
import html.parser
import os
import re
import sys
import unicodedata
from collections import defaultdict
from urllib.parse import unquote, urlsplit


class PageParser(html.parser.HTMLParser):
    """Collects a page's link targets and the anchors it defines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and (name == "id" or tag == "a"):
                self.ids.add(value)
            if (name == "href" and tag in ("a", "link")) or (name == "src" and tag in ("img", "script")):
                self.links.append(value)


PAGES = {}


def parse_page(path):
    if path not in PAGES:
        parser = PageParser()
        with open(path, encoding="utf-8") as f:
            parser.feed(f.read())
        PAGES[path] = parser
    return PAGES[path]


def is_external(target):
    scheme = urlsplit(target).scheme.lower()
    return scheme in ("http", "https")


def is_ignored(target):
    """Targets that are neither files nor web pages."""
    scheme = urlsplit(target).scheme.lower()
    return scheme in ("mailto", "javascript", "data", "tel") or target.startswith("{{")


def github_slug(heading):
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "").strip().lower()
    kept = []
    for ch in text:
        if ch in (" ", "-"):
            kept.append("-")
        elif ch == "_" or unicodedata.category(ch)[0] in ("L", "N"):
            kept.append(ch)
    return "".join(kept)


HEADINGS = {}


def markdown_anchors(path):
    if path not in HEADINGS:
        anchors, seen = set(), defaultdict(int)
        in_code = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.lstrip().startswith("```"):
                    in_code = not in_code
                    continue
                m = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    slug = github_slug(m.group(1))
                    anchors.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
                    seen[slug] += 1
        HEADINGS[path] = anchors
    return HEADINGS[path]


MD_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)


def markdown_links(path):
    """(line number, target) of each link outside code blocks and code spans."""
    in_code = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            if in_code:
                continue
            line = re.sub(r"`[^`]*`", "", line)
            for pattern in (MD_LINK, HTML_LINK):
                for m in pattern.finditer(line):
                    yield number, m.group(1)


class Checker:
    def __init__(self, book, src, repo):
        self.book = os.path.realpath(book)
        self.src = os.path.realpath(src)
        self.repo = os.path.realpath(repo)
        self.broken = []
        self.external = defaultdict(set)
        self.checked = 0

    def report(self, where, target, why):
        self.broken.append(f"{where}: {target}: {why}")

    def check_book(self):
        pages = []
        for root, _dirs, files in os.walk(self.book):
            pages += [os.path.join(root, f) for f in files if f.endswith(".html")]
        if not pages:
            self.report(self.book, "", "no HTML pages: was the book built?")
        for page in sorted(pages):
            for target in parse_page(page).links:
                self.check_book_link(page, target)

    def check_book_link(self, page, target):
        where = os.path.relpath(page, self.repo)
        if is_ignored(target):
            return
        if is_external(target):
            self.external[target].add(where)
            return
        self.checked += 1
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            self.report(where, target, "not a relative link")
            return
        path, fragment = unquote(parts.path), unquote(parts.fragment)
        if not path:
            if fragment and fragment not in parse_page(page).ids:
                self.report(where, target, "no such anchor in this page")
            return
        if path.startswith("/"):
            self.report(where, target, "absolute path: breaks when the book is not at the site's root")
            return
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path))
        if resolved == self.book or resolved.startswith(self.book + os.sep):
            self.check_file_and_anchor(where, target, resolved, fragment, html_ids=True)
        else:
            # Out of the book: the same path from the chapter's source, in the repository.
            chapter_dir = os.path.join(self.src, os.path.relpath(os.path.dirname(page), self.book))
            in_repo = os.path.normpath(os.path.join(chapter_dir, path))
            if in_repo.endswith(".html") and os.path.exists(in_repo[: -len(".html")] + ".md"):
                in_repo = in_repo[: -len(".html")] + ".md"
            if not (in_repo == self.repo or in_repo.startswith(self.repo + os.sep)):
                self.report(where, target, "leaves the repository")
                return
            self.check_file_and_anchor(where, target, in_repo, fragment, html_ids=False)

    def check_file_and_anchor(self, where, target, resolved, fragment, html_ids):
        if os.path.isdir(resolved):
            index = os.path.join(resolved, "index.html")
            if html_ids and os.path.exists(index):
                resolved = index
            elif not fragment:
                return
        if not os.path.exists(resolved):
            self.report(where, target, f"{os.path.relpath(resolved, self.repo)} does not exist")
            return
        if not fragment:
            return
        if resolved.endswith(".html"):
            ids = parse_page(resolved).ids
        elif resolved.endswith(".md"):
            ids = markdown_anchors(resolved)
        else:
            self.report(where, target, "an anchor in a file that has none")
            return
        if fragment not in ids:
            self.report(where, target, f"no anchor #{fragment} in {os.path.relpath(resolved, self.repo)}")

    def check_markdown(self, path):
        where_file = os.path.relpath(os.path.realpath(path), self.repo)
        for number, target in markdown_links(path):
            where = f"{where_file}:{number}"
            if is_ignored(target):
                continue
            if is_external(target):
                self.external[target].add(where_file)
                continue
            self.checked += 1
            parts = urlsplit(target)
            path_part, fragment = unquote(parts.path), unquote(parts.fragment)
            if not path_part:
                resolved = os.path.realpath(path)
            else:
                resolved = os.path.normpath(os.path.join(os.path.dirname(os.path.realpath(path)), path_part))
            if not os.path.exists(resolved):
                self.report(where, target, f"{os.path.relpath(resolved, self.repo)} does not exist")
                continue
            if not fragment:
                continue
            if resolved.startswith(self.src + os.sep) and resolved.endswith(".md"):
                # The chapter's anchors as mdBook wrote them.
                page = os.path.join(self.book, os.path.relpath(resolved, self.src)[: -len(".md")] + ".html")
                if not os.path.exists(page):
                    self.report(where, target, "the chapter is not in the built book (missing from SUMMARY.md?)")
                elif fragment not in parse_page(page).ids:
                    self.report(where, target, f"no anchor #{fragment} in {os.path.relpath(page, self.repo)}")
            else:
                self.check_file_and_anchor(where, target, resolved, fragment, html_ids=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", required=True, help="the built book (mdbook build's output)")
    parser.add_argument("--src", required=True, help="the book's source directory")
    parser.add_argument("--repo", default=".", help="the repository root (default: .)")
    parser.add_argument("markdown", nargs="*", help="Markdown files whose links are checked too")
    args = parser.parse_args()

    checker = Checker(args.book, args.src, args.repo)
    checker.check_book()
    for path in args.markdown:
        checker.check_markdown(path)

    if checker.external:
        print(f"external links (not fetched): {len(checker.external)}")
        for target in sorted(checker.external):
            print(f"  {target}  ({', '.join(sorted(checker.external[target])[:3])})")
    if checker.broken:
        print(f"broken links: {len(checker.broken)}", file=sys.stderr)
        for line in checker.broken:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"links: {checker.checked} relative links checked, none broken")
    return 0


if __name__ == "__main__":
    sys.exit(main())
