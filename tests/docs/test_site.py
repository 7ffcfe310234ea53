"""The built documentation site, in a real headless browser: `nox -s docs-browser`.

Every page renders, with its stylesheets and scripts and no console error; every link to
an anchor, on the page or on another page of the site, lands on an element with that id,
and every link to another page of the site finds it. At a phone's, a tablet's and a
laptop's width, no page scrolls sideways, every code block is either whole or scrolls
(nothing is cut off), and no name in a table or a code block is broken in the middle of
a word: tables scroll instead. No page cites the specification's rule numbers, the API
reference shows what a stub's user needs and not its internals, and the home page opens
with `finauth demo` and the table it prints.

The session builds the site, points FINAUTH_DOCS_SITE at it and provides Chromium and
its driver (FINAUTH_CHROMIUM, FINAUTH_CHROMEDRIVER). The suite's conftest leaves this
module out of every other run: the rest of the suite needs no browser.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

SITE = Path(os.environ["FINAUTH_DOCS_SITE"])
PAGES = sorted(
    path.relative_to(SITE).as_posix().removesuffix("index.html")
    for path in SITE.rglob("*.html")
    if "assets" not in path.relative_to(SITE).parts
)
"""Every page, as its path below the site's root ("" for the home page)."""
WIDTHS = {"phone": 360, "tablet": 768, "laptop": 1280}
"""Viewport widths in CSS pixels."""
STYLESHEET = "stylesheets/extra.css"
"""The site's own stylesheet (mkdocs.yml, extra_css), which the layout checks rely on."""

LAYOUT_PROBLEMS = """
const problems = [];
const viewport = document.documentElement.clientWidth;
if (document.documentElement.scrollWidth > viewport + 1) {
  problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px ` +
                `wide in a ${viewport}px viewport`);
}
const shown = (element) => element.getClientRects().length > 0;
const where = (element) => {
  const before = [...document.querySelectorAll('article h1, article h2, article h3')]
    .filter((h) => h.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING);
  const heading = before[before.length - 1];
  return heading ? ` (under "${heading.textContent.replace('¶', '').trim()}")` : '';
};
for (const code of document.querySelectorAll('.md-typeset pre > code')) {
  if (!shown(code)) continue;
  const style = getComputedStyle(code);
  const scrolls = ['auto', 'scroll'].includes(style.overflowX);
  if (code.scrollWidth > code.clientWidth + 1 && !scrolls) {
    problems.push(`a code block is cut off: ${code.scrollWidth}px of code in ` +
                  `${code.clientWidth}px, overflow-x ${style.overflowX}${where(code)}: ` +
                  code.textContent.slice(0, 60));
  }
}
// A word broken across lines: two adjacent word characters of one text node on
// different lines. Breaks after "-", "/", "." and the like are where a reader expects them.
const word = /[A-Za-z0-9_]/;
const broken = (container, what) => {
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.data;
    let previousTop = null;
    for (let i = 0; i < text.length; i++) {
      if (!word.test(text[i])) { previousTop = null; continue; }
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rects = range.getClientRects();
      if (rects.length === 0) { previousTop = null; continue; }
      const top = rects[0].top;
      if (previousTop !== null && Math.abs(top - previousTop) > rects[0].height / 2) {
        const start = text.slice(0, i).search(/[A-Za-z0-9_]+$/);
        const end = i + text.slice(i).search(/[^A-Za-z0-9_]|$/);
        problems.push(`${what}: "${text.slice(start, end)}" is broken after ` +
                      `"${text.slice(start, i)}"${where(container)}`);
        break;
      }
      previousTop = top;
    }
  }
};
for (const table of document.querySelectorAll('.md-typeset table')) {
  if (shown(table)) broken(table, 'a word in a table');
}
for (const code of document.querySelectorAll('.md-typeset pre > code')) {
  if (shown(code)) broken(code, 'a word in a code block');
}
return problems;
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The test reports what is wrong; a log line per file served is noise."""


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that moves on to the next page drops what it was still loading."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    """The site served over HTTP on 127.0.0.1, as a reader's browser would get it."""
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by its own chromedriver, console messages kept."""
    webdriver: Any = importlib.import_module("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("FINAUTH_CHROMIUM", "/usr/bin/chromium")
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(
        executable_path=os.environ.get("FINAUTH_CHROMEDRIVER", "/usr/bin/chromedriver")
    )
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def load(browser: Any, url: str, width: int = WIDTHS["laptop"]) -> None:
    """`url` in a viewport `width` CSS pixels wide, its earlier console messages dropped."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    browser.get_log("browser")
    browser.get(url)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.fonts.ready.then(() => requestAnimationFrame(() => done(true)));"
    )


def page_ids(browser: Any, url: str, cache: dict[str, frozenset[str]]) -> frozenset[str]:
    """The element ids of the page at `url`, as the browser built it; loads it if new."""
    if url not in cache:
        load(browser, url)
        ids = browser.execute_script(
            "return [...document.querySelectorAll('[id]')].map((element) => element.id);"
        )
        cache[url] = frozenset(ids)
    return cache[url]


@pytest.fixture(scope="module")
def id_cache() -> dict[str, frozenset[str]]:
    """Each page's ids, once per run: many pages link into the same few."""
    return {}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(browser: Any, root: str, page: str) -> None:
    load(browser, root + page)
    state = browser.execute_script(
        """
        const article = document.querySelector('article.md-content__inner');
        return {
          title: document.title,
          heading: article?.querySelector('h1')?.textContent.trim() ?? null,
          text: article?.innerText.trim().length ?? 0,
          stylesheets: [...document.styleSheets].map((sheet) => sheet.href || ''),
          scripts: typeof window.document$ !== 'undefined',
        };
        """
    )
    messages = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not elsewhere(entry["message"], root)
    ]
    assert not messages, f"{page or 'home'}: console errors: {messages}"
    assert state["title"], f"{page or 'home'}: no <title>"
    assert state["heading"], f"{page or 'home'}: no heading in the article"
    assert state["text"] > 0, f"{page or 'home'}: the article is empty"
    assert any(href.endswith(STYLESHEET) for href in state["stylesheets"]), (
        f"{page or 'home'}: {STYLESHEET} is not loaded"
    )
    assert state["scripts"], f"{page or 'home'}: the theme's scripts did not run"


@pytest.mark.parametrize("page", PAGES)
def test_every_link_within_the_site_lands(
    browser: Any, root: str, page: str, id_cache: dict[str, frozenset[str]]
) -> None:
    url = root + page
    load(browser, url)
    links: list[list[str]] = browser.execute_script(
        "return [...document.querySelectorAll('a[href]')]"
        ".map((a) => [a.getAttribute('href'), a.href]);"
    )
    here = page_ids(browser, url, id_cache)
    broken = []
    for written, resolved in links:
        target, fragment = urldefrag(resolved)
        if not target.startswith(root):
            continue  # another site: not ours to check
        if written == "#":
            broken.append(f"{written!r} leads nowhere")
            continue
        if target != url and not exists(target):
            broken.append(f"{written!r}: {target} is not a page of the site")
            continue
        if not fragment:
            continue
        ids = here if target == url else page_ids(browser, target, id_cache)
        if unquote(fragment) not in ids:
            broken.append(f"{written!r}: no element with id {unquote(fragment)!r}")
    assert not broken, f"{page or 'home'}: " + "; ".join(sorted(set(broken)))


def elsewhere(message: str, root: str) -> bool:
    """Whether a console message is about another site's file: the theme's web fonts come
    from Google Fonts, which a machine offline cannot reach (the page then uses the
    system's fonts). Errors of the site's own files and scripts all count."""
    return message.startswith(("http://", "https://")) and not message.startswith(root)


def exists(url: str) -> bool:
    """Whether the local server answers `url` (a page or a file of the site) with 200."""
    if urlsplit(url).scheme != "http":
        return False
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # the local server only
            return bool(answer.status == 200)
    except urllib.error.URLError:
        return False


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("page", PAGES)
def test_code_and_tables_fit_the_page(browser: Any, root: str, page: str, width: int) -> None:
    load(browser, root + page, width)
    problems: list[str] = browser.execute_script(LAYOUT_PROBLEMS)
    assert not problems, f"{page or 'home'} at {width}px:\n" + "\n".join(problems)


RULE_NUMBER = re.compile(r"\bR\d{1,2}\b")
"""The specification's rule numbers (R1 to R18): maintainers' shorthand, not a reader's."""


@pytest.mark.parametrize("page", PAGES)
def test_no_page_cites_rule_numbers(browser: Any, root: str, page: str) -> None:
    load(browser, root + page)
    text: str = browser.execute_script(
        "return document.querySelector('article.md-content__inner')?.innerText ?? '';"
    )
    cited = sorted({match.group() for match in RULE_NUMBER.finditer(text)})
    lines = [line.strip() for line in text.splitlines() if RULE_NUMBER.search(line)]
    assert not cited, f"{page or 'home'} cites {', '.join(cited)}: " + " | ".join(lines)


STUB_MEMBERS = (
    "expire_tokens",
    "revoke_tokens",
    "fail_next_login",
    "fail_next_refresh",
    "rate_limit",
    "logins",
    "refreshes",
    "calls",
    "token_ttl",
    "route",
    "register",
)
"""What the pytest plugin's users call on a stub (docs/pytest-plugin.md)."""


def test_the_reference_shows_what_a_stub_user_needs(browser: Any, root: str) -> None:
    load(browser, root + "reference/")
    found = browser.execute_script(
        """
        const documented = (id) => {
          const heading = document.getElementById(id);
          const text = heading?.closest('.doc-object')?.querySelector('.doc-contents')?.innerText;
          return heading !== null && (text ?? '').trim().length > 0;
        };
        const ids = [...document.querySelectorAll('[id^="finauth.testing.Stub."]')]
          .map((element) => element.id);
        return {
          members: Object.fromEntries(arguments[0].map(
            (name) => [name, documented(`finauth.testing.Stub.${name}`)])),
          ids: ids,
          text: document.querySelector('article.md-content__inner').innerText,
        };
        """,
        list(STUB_MEMBERS),
    )
    missing = [name for name, documented in found["members"].items() if not documented]
    assert not missing, f"Stub members missing or without a description: {missing}"
    internals = {"emulator", "registered", "start", "stop", "adapter", "transport", "origin"}
    shown = {id.removeprefix("finauth.testing.Stub.") for id in found["ids"]} & internals
    assert not shown, f"Stub internals in the reference: {sorted(shown)}"
    text = found["text"]
    assert "ProviderAuth" not in text, "the private ProviderAuth base is shown"
    constants = sorted(set(re.findall(r"= ([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b", text)))
    assert not constants, f"defaults shown by a constant's name, not its value: {constants}"
    assert 'base_url: str = "https://api.fincrux.org"' in text


def test_the_home_page_opens_with_the_demo_and_its_table(browser: Any, root: str) -> None:
    load(browser, root)
    blocks: list[str] = browser.execute_script(
        "return [...document.querySelectorAll('article pre > code')].map((c) => c.innerText);"
    )
    assert "finauth demo" in blocks[0], "the first code block does not run the demo"
    demo = subprocess.run(
        [sys.executable, "-m", "finauth", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert blocks[1].strip() == demo.stdout.strip(), (
        "the home page's demo output is not what `finauth demo` prints now:\n" + demo.stdout
    )
