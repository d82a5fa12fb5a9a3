"""Who may do what: the roles (viewer, officer, admin) and the action each role may take.

With no identity provider configured the app is open, as on a laptop: everyone may do everything.
When sign-in is configured (see the sign-in work of issue 16), a person's role comes from
configuration, and an action needs at least the role listed in ``NEEDS``.
This module holds plain functions (no Streamlit): pages ask ``pages/_shared.allowed(action)``.
"""
from __future__ import annotations

ROLES = ("viewer", "officer", "admin")  # in increasing order of what they may do

# The least role each guarded action needs once sign-in is configured.
NEEDS = {
    "edit_register": "officer",      # add, edit or end a partnership
    "import_register": "officer",    # import partnerships from a CSV
    "since_last_meeting": "officer", # the meeting pack's "since last meeting" section
    "load_data": "admin",            # upload files and rebuild the database from the browser
}


def permits(role: str | None, action: str) -> bool:
    """True when ``role`` may take ``action``; ``role=None`` means the app is open (no sign-in configured)."""
    if action not in NEEDS:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(NEEDS)}")
    if role is None:
        return True
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(NEEDS[action])
