"""Text from data or from users, shown as itself: never as Markdown, never as a link.

Streamlit renders Markdown in ``st.markdown``, ``st.write``, captions, alerts, labels
and table cells. A note, a name or a query parameter holding ``![b](http://host/x.png)``
would otherwise make the browser fetch that address, and ``[Sign in](http://...)``
would draw a link inside the app. Every such value goes through :func:`literal`, which
escapes every ASCII punctuation character (CommonMark lets any of them be
backslash-escaped, and an escaped one is always just itself), so no Markdown, HTML,
directive (``:red[...]``) or formula (``$...$``) can form, and breaks what GFM would
turn into a link on its own. Where a value is shown alone, pages use ``st.text``,
which parses nothing. Links in the app come only from code.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# GitHub-flavoured Markdown also turns plain text that looks like a web address or an
# email into a link *after* escapes are read (remark-gfm's autolink literals): an
# invisible word joiner after the scheme, the "www" or the "@" stops that.
_AUTOLINK = re.compile(r"(?i)(?:https?|mailto|xmpp)(?=:)|www(?=\.)|@")
WORD_JOINER = "\u2060"


def literal(value: object) -> str:
    """``value`` as Markdown source that renders exactly as its text; line breaks kept."""
    text = "" if value is None else str(value)
    lines = []
    for line in text.splitlines():
        line = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, line)
        lines.append(_PUNCTUATION.sub(r"\\\1", line).lstrip())
    return "  \n".join(lines)
