"""The shell every honed HTML page shares: self-contained (no fetched assets), one small stylesheet."""
from __future__ import annotations

import html

STYLE = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#070;font-weight:bold}.fail,.skew{color:#b00;font-weight:bold}figure{margin:1.5em 0}"""


def html_page(title: str, body: str) -> str:
    """A complete page; `title` is escaped here, `body` must already be safe HTML."""
    safe = html.escape(title)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{safe}</title><style>{STYLE}</style></head>'
            f"<body><h1>{safe}</h1>\n{body}</body></html>")
