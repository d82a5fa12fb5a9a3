"""Widgets and blocks every page uses: the shared filters, and the chart block (a sentence that
says what the chart shows, the chart, a "show data" table and a CSV download).

Filters are bound to the URL (``bind="query-params"``), so any view can be bookmarked or shared.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit import config as st_config
from streamlit.errors import StreamlitAPIException, StreamlitAuthError
from streamlit.runtime.pages_manager import PagesManager

from equity import access, latest, lookups
from equity.csv_export import to_csv_bytes
from equity.safe_text import md

def route_through_frame() -> None:
    """Call first thing in every page.

    Streamlit treats a folder named pages/ beside the entry point as an old-style multipage app
    until some session has run st.navigation in dashboard.py. A deep link (say /families?urn=...)
    opened first after a server start would then run the page alone, without the frame. This
    switches to the frame's navigation and reruns: dashboard.py then routes the same URL to the page.
    (Not done at import time: raising a rerun inside an import breaks concurrent imports. Not done
    under AppTest, which resets the flag on every run and opens page files directly.)
    """
    if PagesManager.uses_pages_directory and not st_config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()


def _shown(text, limit: int = 24) -> str:
    """A URL value quoted back to the user: short, and as text."""
    text = str(text)
    return md(text if len(text) <= limit else text[:limit] + "…")


def url_choice(widget, label: str, options: list, key: str, default=None, *, url_key: str | None = None,
               what: str | None = None, name_missing=str, scope=None, **kw):
    """The one way a page binds a choice to the URL: a selectbox or radio (``widget``, e.g.
    ``st.sidebar.selectbox``) whose URL parameter holds the option's code (``?la=936``,
    ``?pid=3``), never its on-screen label.

    * The URL is read once per session and only a value that is exactly one of ``options`` (as
      text) is used, so nothing from the address is converted, parsed or run.
    * A value that is not an option is said to be missing (``what``: "LA", "partnership"...):
      "No LA 999 in this database", never a silent switch to another one.
    * Otherwise the value kept when the user last left a page, else ``default``; a kept value
      that has gone (a rebuild dropped it) is reported the same way and replaced.
      ``name_missing`` words a missing value (default: as given). ``scope``: what the options
      depend on (e.g. the key stage): a value that is not an option after the scope changed is
      replaced without a word.
    * ``default=None`` with a selectbox means nothing is chosen until the user picks.

    The chosen code is written back to the URL on every run.
    """
    url = url_key or key
    fmt = kw.get("format_func", str)
    fallback = default if default in options else (options[0] if options and default is not None else None)
    if key not in st.session_state:
        by_text = {str(o): o for o in options}
        wanted = st.query_params.get(url)
        kept = st.session_state.get(f"_keep_{key}")
        # a value another page wrote under the same name (Neighbourhoods' ?year= is a results year,
        # Families' a context year) is that page's, not a link to check here: replaced silently
        theirs = st.session_state.get("_url_written", {}).get(url)
        foreign = theirs is not None and theirs[0] == wanted and theirs[1] != label
        if wanted is not None and wanted in by_text:
            st.session_state[key] = by_text[wanted]
        else:
            if wanted not in (None, "") and what and not foreign:
                missing_notice(what, _named(name_missing, wanted), fmt(kept if kept in options else fallback)
                               if (kept in options or fallback is not None) else None)
            if kept in options:
                st.session_state[key] = kept
            elif fallback is not None:
                st.session_state[key] = fallback
    elif st.session_state[key] is not None and st.session_state[key] not in options:
        gone = st.session_state[key]
        if what and st.session_state.get(f"_scope_{key}") == scope:
            missing_notice(what, _named(name_missing, gone), fmt(fallback) if fallback is not None else None,
                           was_here=True)
        st.session_state[key] = fallback
    if key not in st.session_state and default is None:
        kw.setdefault("index", None)  # nothing chosen yet
    value = widget(label, options, key=key, **kw)
    st.session_state[f"_keep_{key}"] = value
    st.session_state[f"_scope_{key}"] = scope
    st.session_state.setdefault("_url_written", {})[url] = (None if value is None else str(value), label)
    try:
        if value is None:
            if url in st.query_params:
                del st.query_params[url]
        elif st.query_params.get(url) != str(value):
            st.query_params[url] = str(value)
    except StreamlitAPIException:
        pass  # another page's widget still owns this URL parameter in this session: leave the URL as is
    return value


def _named(name_missing, value) -> str:
    try:
        return str(name_missing(value))
    except (ValueError, TypeError, KeyError):  # a value from the address that the wording cannot take: show it as given
        return str(value)


def missing_notice(what: str, value, instead: str | None = None, was_here: bool = False) -> None:
    """Say that a code from the address (or from before a rebuild) is not in the database."""
    head = (f"{what} {_shown(value)} is no longer in this database (it was rebuilt)" if was_here
            else f"There is no {what} {_shown(value)} in this database")
    head = head[:1].upper() + head[1:]
    st.warning(head + (f": showing {md(instead)} instead." if instead else "."), icon=":material/info:")


def urn_from(text: str | None) -> int | None:
    """A URN typed or taken from the address, checked (``equity.lookups.parse_urn``); a bad one is
    explained on the page and gives None."""
    if not text or not str(text).strip():
        return None
    try:
        return lookups.parse_urn(text)
    except lookups.BadURN as exc:  # the value quoted as text, the reason in our words
        st.warning(f"“{md(exc.shown)}” is not a URN: {exc.why}." if exc.shown else f"{exc.why.capitalize()}.")
        return None


def la_filter(key: str = "la", label: str = "Local authority", sidebar: bool = True) -> str:
    """Select an LA (DfE three-digit code, kept in the URL as ?la=936). Only LAs we hold data for are offered."""
    las = lookups.las_with_data()
    codes = list(las.la_code)
    names = dict(zip(las.la_code, las.la_name))
    where = st.sidebar if sidebar else st
    # a newcomer (no URL, nothing chosen yet) starts on the LA with the most recent results
    first = latest.default_la()
    return url_choice(where.selectbox, label, codes, key, first if first in codes else (codes[0] if codes else None),
                      url_key=key, what="LA", format_func=lambda c: f"{names.get(c, c)} ({c})")


def key_stage_filter(key: str = "ks", sidebar: bool = True) -> int:
    """KS4 or KS2, kept in the URL as ?ks=4."""
    where = st.sidebar if sidebar else st
    return url_choice(where.radio, "Key stage", [4, 2], key, 4, what="key stage",
                      format_func=lambda k: f"KS{k} ({'age 16' if k == 4 else 'age 11'})", horizontal=True)


def latest_year_note(la: str, ks: int, name: str | None = None) -> None:
    """Say which year the page opens on (the latest held for the LA and key stage) and which headline
    measure DfE did not publish that year."""
    st.info(latest.year_note(la, ks, name), icon=":material/event:")


def chart_block(fig, sentence: str, data: pd.DataFrame, filename: str, key: str | None = None) -> None:
    """The standard chart unit: plain-language sentence, chart, data table and CSV download."""
    st.markdown(sentence)
    st.plotly_chart(fig, width="stretch", key=key)
    with st.expander("Show data"):
        st.dataframe(data, hide_index=True, width="stretch")
    # the CSV is written when the button is clicked, not on every run (nor fetched by the browser as it draws)
    st.download_button("Download CSV", lambda: to_csv_bytes(data), file_name=filename,
                       mime="text/csv", key=f"dl-{key or filename}")


# No base map, and nothing fetched for one. Streamlit's map front end gives a Deck whose style is
# missing (``map_style=None``) a CARTO base map from basemaps.cartocdn.com, and fails on a style
# object ("mapStyle?.includes is not a function"); pydeck's own "no style chosen" marker
# (``__MAP_STYLE__``, what ``pdk.Deck(map_provider=None)`` sends) it removes and draws no base map.
NO_BASE_MAP = "__MAP_STYLE__"


def without_base_map(deck):
    """``deck`` (a pydeck Deck made with ``map_provider=None``) drawn with no base map: layers only,
    nothing requested from a tile or style service."""
    deck.map_provider = None
    deck.map_style = NO_BASE_MAP
    return deck


# ---- sign-in (optional: see equity/access.py) ------------------------------------------------------

@dataclass(frozen=True)
class Visitor:
    """Who is using this session. ``role`` None: no sign-in configured, the app is open."""
    role: str | None
    email: str | None = None  # the signed-in address (as the identity provider gave it)
    problem: str | None = None  # the sign-in configuration is broken: everyone is a viewer until fixed


def visitor() -> Visitor:
    """This session's visitor: open when Streamlit's secrets hold no ``[auth]`` section; else the
    signed-in person (``st.user``) with the role ``equity.access.role_for`` gives them.

    A secrets file that exists but cannot be read counts as sign-in configured (and broken), so a
    typing slip in a region's secrets never opens the register to everyone.
    """
    loaded = st.secrets.load_if_toml_exists()  # False for a missing or unreadable file (logged by Streamlit)
    if not loaded:
        problem = access.unreadable_secrets(st_config.get_option("secrets.files"))
        return Visitor("viewer", problem=problem) if problem else Visitor(None)
    if "auth" not in st.secrets:
        return Visitor(None)
    user = st.user.to_dict()
    email = (str(user.get("email") or "").strip() or None) if user.get("is_logged_in") else None
    try:
        config = access.load_config(st.secrets.get(access.SECTION), os.environ)
    except access.AccessConfigError as exc:
        return Visitor("viewer", email, f"The sign-in roles are misconfigured ({exc}), so nobody may change anything "
                                        "until an administrator fixes them.")
    return Visitor(access.role_for(email, config, user.get("email_verified")), email)


def allowed(action: str) -> bool:
    """May the person using this session take ``action`` (see equity.access.NEEDS)? Open (True) when no
    sign-in is configured."""
    return access.permits(visitor().role, action)


def _sign_in_button(key: str, where=st) -> None:
    if where.button("Sign in", key=key, icon=":material/login:"):
        try:
            st.login()
        except (StreamlitAuthError, StreamlitAPIException) as exc:  # [auth] incomplete (no redirect_uri, cookie_secret...): say so, no traceback
            where.error(f"Sign-in is not set up correctly on this server: {md(exc)}")


def refused(action: str, key: str, button: bool = True) -> None:
    """Say that ``action`` needs a role this visitor lacks, with a "Sign in" button when not signed in
    (``button=False`` in the sidebar, which has one already)."""
    v = visitor()
    st.info(access.refusal(action, v.role or "viewer", bool(v.email)), icon=":material/lock:")
    if button and not v.email and not v.problem:
        _sign_in_button(f"signin_{key}")


def account_box() -> None:
    """In the sidebar: who is signed in (and their role) with "Sign out", or "Sign in". Nothing when
    the app is open (no sign-in configured)."""
    v = visitor()
    if v.role is None:
        return
    if v.problem:
        st.sidebar.error(md(v.problem))
    if v.email:
        st.sidebar.text(f"Signed in as {v.email} ({v.role})")  # as text: Markdown would make the address a link
        if st.sidebar.button("Sign out", key="signout", icon=":material/logout:"):
            st.logout()
    elif not v.problem:
        st.sidebar.caption("Browsing as a visitor: sign in to change the register.")
        _sign_in_button("signin_sidebar", st.sidebar)


def editor_name() -> str:
    """Who the register records as making a change: the signed-in address when sign-in is
    configured (nothing to type), else the name typed in the sidebar (the open, laptop app)."""
    v = visitor()
    if v.role is not None:
        return v.email or ""
    return st.sidebar.text_input("Your name (recorded in the audit trail)", key="who",
                                 help="Every change to the register records who made it and when.")
