"""Who may do what: the roles (viewer, officer, admin), the action each role may take, and the
rule that gives a signed-in person a role.

With no identity provider configured the app is open, as on a laptop: everyone may do everything
(``role=None``). When sign-in is configured (an ``[auth]`` section in Streamlit's secrets, used by
``st.login``), a person's role comes from configuration (``[equity_roles]`` in the secrets, or
``EQUITY_ADMINS`` / ``EQUITY_ADMIN_DOMAINS`` / ``EQUITY_OFFICERS`` / ``EQUITY_OFFICER_DOMAINS`` in
the environment): a signed-in person who is not listed, and a visitor who has not signed in, is a
viewer. An action needs at least the role listed in ``NEEDS``.
This module holds plain functions (no Streamlit): pages ask ``pages/_shared.allowed(action)``.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROLES = ("viewer", "officer", "admin")  # in increasing order of what they may do

# The least role each guarded action needs once sign-in is configured.
NEEDS = {
    "edit_register": "officer",      # add, edit or end a partnership
    "import_register": "officer",    # import partnerships from a CSV
    "since_last_meeting": "officer", # the meeting pack's "since last meeting" against an earlier build
    "load_data": "admin",            # upload files and rebuild the database from the browser
    "see_who_changed": "officer",    # who created or changed a partnership (officers' addresses, once signed in)
}

# What each action is, in words, for the message that refuses it.
DOING = {
    "edit_register": "Adding, editing or ending a partnership",
    "import_register": "Importing partnerships",
    "since_last_meeting": "Comparing with the database used at the last meeting",
    "load_data": "Loading data",
    "see_who_changed": "Seeing who changed the register",
}

# The settings: (key in [equity_roles], environment variable, what each entry is)
SETTINGS = {
    "admins": ("EQUITY_ADMINS", "email"),
    "admin_domains": ("EQUITY_ADMIN_DOMAINS", "domain"),
    "officers": ("EQUITY_OFFICERS", "email"),
    "officer_domains": ("EQUITY_OFFICER_DOMAINS", "domain"),
}
SECTION = "equity_roles"

_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class AccessConfigError(ValueError):
    """A role setting that is not a list of e-mail addresses or domains; the message names the setting."""


@dataclass(frozen=True)
class RoleConfig:
    """Who holds which role: e-mail addresses and e-mail domains (all lower case)."""
    admins: frozenset = frozenset()
    admin_domains: frozenset = frozenset()
    officers: frozenset = frozenset()
    officer_domains: frozenset = frozenset()


def _entries(value, where: str, kind: str) -> set[str]:
    """A setting's entries: a TOML list, or one string of entries separated by commas or spaces."""
    if value is None:
        return set()
    if isinstance(value, str):
        items = re.split(r"[,\s]+", value)
    elif isinstance(value, (list, tuple)):
        items = []
        for v in value:
            if not isinstance(v, str):
                raise AccessConfigError(f"{where}: {v!r} is not text; give a list of {kind}s in quotes")
            items += re.split(r"[,\s]+", v)
    else:
        raise AccessConfigError(f"{where}: expected a list of {kind}s, got {value!r}")
    out = set()
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if kind == "domain":
            item = item.removeprefix("@")  # "@herts.gov.uk" is meant as the domain
            ok = _DOMAIN.match(item)
        else:
            ok = _EMAIL.match(item)
        if not ok:
            raise AccessConfigError(f"{where}: {item!r} is not an e-mail {'domain' if kind == 'domain' else 'address'}"
                                    f" (e.g. {'herts.gov.uk' if kind == 'domain' else 'name@herts.gov.uk'})")
        out.add(item)
    return out


def load_config(section: Mapping | None = None, environ: Mapping | None = None) -> RoleConfig:
    """The role configuration from the secrets' ``[equity_roles]`` section and the environment
    (both count: an address in either holds the role). Raises :class:`AccessConfigError` naming
    the setting when an entry is not an e-mail address or domain, or a key is unknown."""
    section = dict(section or {})
    environ = environ or {}
    unknown = sorted(set(section) - set(SETTINGS))
    if unknown:
        raise AccessConfigError(f"[{SECTION}] in the secrets: unknown setting(s) {', '.join(unknown)}; "
                                f"known: {', '.join(SETTINGS)}")
    got = {}
    for key, (env, kind) in SETTINGS.items():
        got[key] = frozenset(_entries(section.get(key), f"[{SECTION}] {key} in the secrets", kind)
                             | _entries(environ.get(env), f"environment variable {env}", kind))
    return RoleConfig(**got)


def role_for(email: str | None, config: RoleConfig, verified: bool | None = None) -> str:
    """The role of a person signed in as ``email`` (None: not signed in).

    An address listed as admin, or in an admin domain, is an admin; else listed as officer or in an
    officer domain, an officer; anyone else (and anyone not signed in) a viewer. Addresses and
    domains compare without regard to case; a domain matches exactly (``herts.gov.uk`` does not take
    in ``x.herts.gov.uk``). An address the identity provider says it has not verified
    (``verified=False``, the ``email_verified`` claim) is a viewer whatever the lists say: anyone
    could type it.
    """
    if not email or verified is False:
        return "viewer"
    email = str(email).strip().lower()
    if not _EMAIL.match(email):
        return "viewer"
    domain = email.rsplit("@", 1)[1]
    if email in config.admins or domain in config.admin_domains:
        return "admin"
    if email in config.officers or domain in config.officer_domains:
        return "officer"
    return "viewer"


def permits(role: str | None, action: str) -> bool:
    """True when ``role`` may take ``action``; ``role=None`` means the app is open (no sign-in configured)."""
    if action not in NEEDS:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(NEEDS)}")
    if role is None:
        return True
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(NEEDS[action])


def _a(role: str) -> str:
    return ("an " if role[0] in "aeiou" else "a ") + role


def refusal(action: str, role: str, signed_in: bool) -> str:
    """Why ``action`` is refused, in words. (Not the person's address: the sidebar shows that, as
    plain text, while Markdown would turn an address into a link.)"""
    if not signed_in:
        return f"{DOING[action]} needs {_a(NEEDS[action])}: sign in first."
    return (f"{DOING[action]} needs {_a(NEEDS[action])}; you are signed in as {_a(role)}. "
            "Ask the dashboard's administrator if you need more.")


def unreadable_secrets(paths) -> str | None:
    """A problem with Streamlit's secrets files (``secrets.files``) worth refusing edits for: a
    ``.toml`` file that exists but is not valid TOML (Streamlit would then run as if there were no
    secrets, that is, open). None when every file present reads."""
    for p in paths or ():
        path = Path(p)
        if path.suffix != ".toml" or not path.is_file():
            continue
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            # the file's name, not its place on the server: this is shown to visitors
            return (f"The server's {path.name} cannot be read ({exc}), so sign-in cannot be checked and nobody "
                    "may change anything until an administrator fixes it.")
    return None
