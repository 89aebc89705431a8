"""The shell every honed HTML page shares: self-contained (no fetched assets), one small stylesheet."""
from __future__ import annotations

import base64
import html
import io

STYLE = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#070;font-weight:bold}.fail,.skew{color:#b00;font-weight:bold}figure{margin:1.5em 0}"""


def html_page(title: str, body: str) -> str:
    """A complete page; `title` is escaped here, `body` must already be safe HTML."""
    safe = html.escape(title)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{safe}</title><style>{STYLE}</style></head>'
            f"<body><h1>{safe}</h1>\n{body}</body></html>")


def figure_html(fig, caption: str, dpi: int = 90) -> str:
    """A matplotlib figure inlined as a PNG (the page stays self-contained); the figure is closed; caption escaped."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")
