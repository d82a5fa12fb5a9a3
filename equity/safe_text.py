"""Text from files and users shown as text: the one place that escapes it for each renderer.

School and LA names come from DfE files, focus and notes from anyone who can reach the app. Put
into a Streamlit Markdown string (``st.markdown``, ``st.header``, ``st.caption``, ``st.info``, widget
labels...), a name such as ``**Bold** [click me](https://evil.example)`` would be bold with a live
link, ``![t](https://evil.example/pixel.png)`` would make every viewer's browser fetch that address,
``:red[x]`` and ``$x^2$`` would be coloured and typeset. In a Plotly label, ``<a href=...>`` is a live
link. So every such text goes through one of these on its way into markup:

* :func:`md`: for Streamlit Markdown (every ASCII punctuation character backslash-escaped, which
  CommonMark renders as the character itself; line breaks and tabs become spaces, so a name cannot
  start a heading, list or code block).
* :func:`html`: for HTML-ish markup: Plotly labels and hover text, pydeck HTML tooltips,
  reportlab ``Paragraph`` (``<``, ``>`` and ``&`` as entities, which all three show as the
  characters; quotes are left alone: this is never an attribute value, and Plotly shows
  ``&quot;`` as it stands).
* :func:`plain`: the project's own Markdown sentences (which carry names escaped by :func:`md`)
  made plain for PDF and PowerPoint: emphasis markers dropped, escapes undone.
"""
from __future__ import annotations

import html as _html
import re
import string

__all__ = ["md", "html", "plain", "one_line"]

# Every ASCII punctuation character may be backslash-escaped in CommonMark and is then literal.
# That covers Markdown (* _ [ ] ( ) ! # > ` ~ | -), Streamlit's directives (:red[..], :material/..:,
# emoji short codes), LaTeX ($) and HTML (< > &).
_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")
_UNESCAPE = re.compile(r"\\([" + re.escape(string.punctuation) + "])")


def one_line(value) -> str:
    """The text on one line: line breaks, tabs and other control characters become single spaces."""
    if value is None:
        return ""
    return _SPACE.sub(" ", str(value)).strip()


def md(value) -> str:
    """``value`` as literal text inside Streamlit Markdown (any element that renders Markdown)."""
    return _PUNCT.sub(r"\\\1", one_line(value))


def html(value) -> str:
    """``value`` as literal text inside HTML or Plotly/reportlab markup (``<a href>`` stays inert)."""
    return _html.escape(one_line(value), quote=False)


def plain(markdown: str | None) -> str:
    """A project Markdown sentence as plain text: ``**``/``__``/backticks dropped, ``\\*`` back to ``*``."""
    text = re.sub(r"(?<!\\)(\*\*|__|`)", "", markdown or "")
    return _UNESCAPE.sub(r"\1", text)
