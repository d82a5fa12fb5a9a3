"""Text from files and users shown as text: the one place that escapes it for each renderer.

School and LA names come from DfE files, focus and notes from anyone who can reach the app. Put
into a Streamlit Markdown string (``st.markdown``, ``st.header``, ``st.caption``, ``st.info``, widget
labels...), a name such as ``**Bold** [click me](https://evil.example)`` would be bold with a live
link, ``![t](https://evil.example/pixel.png)`` would make every viewer's browser fetch that address,
``:red[x]`` and ``$x^2$`` would be coloured and typeset. In a Plotly label, ``<a href=...>`` is a live
link. So every such text goes through one of these on its way into markup:

* :func:`md`: for Streamlit Markdown. Every character that can start markup is backslash-escaped
  (CommonMark shows an escaped punctuation character as itself): emphasis, code, links and
  images, HTML, LaTeX, Streamlit's ``:directive[...]``, ``:material/icon:`` and emoji short
  codes, bare-URL autolinks (``https://``, ``www.``, ``a@b``), and a list, heading or quote
  marker at the start. Line breaks and tabs become spaces. Ordinary punctuation (``' , . ( ) /
  - : ``) is left as it is, so the Markdown of a sentence stays readable and equal to its text.
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

# Any ASCII punctuation character may be backslash-escaped in CommonMark and is then literal. These
# always start something: emphasis * _ ~, code `, links/images/directives [ ], HTML and autolinks
# < >, headings #, LaTeX $, tables |, e-mail autolinks @, the escape itself \.
_ALWAYS = re.compile(r"([\\*_~`\[\]<>#$|@])")
# ':' before a letter or '/' starts a directive (:red[), an icon (:material/x:), an emoji short
# code (:smile:) or a URL scheme (https://, which GFM turns into a live link); 'www.' too.
_COLON = re.compile(r":(?=[A-Za-z/])")
_WWW = re.compile(r"(?i)\b(www)\.")
# at the very start, a list item (-, +, 1.) or a quote (>) would make a block of its own
_LEAD = re.compile(r"^([-+]|\d{1,9}[.)])(?=\s|$)")
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")
_UNESCAPE = re.compile(r"\\([" + re.escape(string.punctuation) + "])")


def one_line(value) -> str:
    """The text on one line: line breaks, tabs and other control characters become single spaces."""
    if value is None:
        return ""
    return _SPACE.sub(" ", str(value)).strip()


def md(value) -> str:
    """``value`` as literal text inside Streamlit Markdown (any element that renders Markdown)."""
    text = _ALWAYS.sub(r"\\\1", one_line(value))
    text = _WWW.sub(r"\1\\.", _COLON.sub(r"\\:", text))
    return _LEAD.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)


def html(value) -> str:
    """``value`` as literal text inside HTML or Plotly/reportlab markup (``<a href>`` stays inert)."""
    return _html.escape(one_line(value), quote=False)


def plain(markdown: str | None) -> str:
    """A project Markdown sentence as plain text: ``**``/``__``/backticks dropped, ``\\*`` back to ``*``."""
    text = re.sub(r"(?<!\\)(\*\*|__|`)", "", markdown or "")
    return _UNESCAPE.sub(r"\1", text)
