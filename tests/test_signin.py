"""Optional sign-in (issue 16, item 4): roles from configuration, what each role may do, and the
whole flow in a real browser against a real OpenID Connect provider on loopback.

* The role rule (``equity.access.role_for``, ``load_config``, ``permits``) on its own.
* The pages under AppTest (``at.secrets`` holds an ``[auth]`` section, ``at.user`` the person):
  open without ``[auth]``; with it, a visitor is refused the register's forms and the typed-name box
  is gone; an officer's change is recorded under the signed-in address.
* Real sign-in: ``oidc-provider-mock`` (a Flask app, in a thread on a free port) is the identity
  provider; ``streamlit run dashboard.py`` reads a temporary secrets file (``--secrets.files``,
  nothing written into the repository) and temporary copies of the database and the register;
  headless Chromium signs in through the provider's form, adds a partnership, reads its audit
  trail, signs out, and tries the other roles. In CI (``CI=true``) a missing browser is a failure;
  elsewhere these skip, saying why.

Every test name contains ``signin`` (``pytest -k signin``).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import fixtures
from equity import access

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ARTIFACTS = ROOT / "test-artifacts" / "signin"

ADMIN = "data.lead@example-region.gov.uk"
OFFICER = "adviser@herts.gov.uk"           # an officer by domain
LISTED_OFFICER = "mentor@partner-trust.org.uk"  # an officer by name
VIEWER = "head@some-school.org.uk"         # signed in, not listed
ROLES_SECTION = {"admins": [ADMIN], "officers": [LISTED_OFFICER], "officer_domains": ["herts.gov.uk"]}
SCHOOL, PARTNER = 141200, 138190  # a real pair from the bundled data (tests/test_partnerships.py uses them)


# ---- the role rule ---------------------------------------------------------------------------------

def test_signin_roles_come_from_addresses_and_domains():
    cfg = access.load_config(ROLES_SECTION, {})
    assert access.role_for(ADMIN, cfg) == "admin"
    assert access.role_for(ADMIN.upper(), cfg) == "admin"          # addresses compare without case
    assert access.role_for(OFFICER, cfg) == "officer"              # by domain
    assert access.role_for(LISTED_OFFICER, cfg) == "officer"       # by name
    assert access.role_for(VIEWER, cfg) == "viewer"                # signed in, not listed
    assert access.role_for("x@sub.herts.gov.uk", cfg) == "viewer"  # a domain matches exactly
    assert access.role_for("herts.gov.uk@evil.example", cfg) == "viewer"
    assert access.role_for(None, cfg) == access.role_for("", cfg) == "viewer"  # not signed in
    assert access.role_for("not an address", cfg) == "viewer"
    # an address the provider has not verified is anyone's to type: a viewer
    assert access.role_for(OFFICER, cfg, verified=False) == "viewer"
    assert access.role_for(OFFICER, cfg, verified=True) == "officer"
    # nothing configured: everyone signed in is a viewer
    assert access.role_for(ADMIN, access.load_config()) == "viewer"


def test_signin_roles_from_the_environment_add_to_the_secrets():
    env = {"EQUITY_ADMINS": "Boss@Example.org, second@example.org", "EQUITY_OFFICER_DOMAINS": "@surreycc.gov.uk",
           "EQUITY_OFFICERS": "", "PATH": "/usr/bin"}
    cfg = access.load_config(ROLES_SECTION, env)
    assert cfg.admins == {ADMIN, "boss@example.org", "second@example.org"}
    assert cfg.officer_domains == {"herts.gov.uk", "surreycc.gov.uk"}
    assert access.role_for("boss@example.org", cfg) == "admin"
    assert access.role_for("someone@surreycc.gov.uk", cfg) == "officer"
    # the environment alone works as well (no [equity_roles] section)
    assert access.role_for("second@example.org", access.load_config(None, env)) == "admin"


@pytest.mark.parametrize("section, env, named", [
    ({"admins": ["herts.gov.uk"]}, {}, r"\[equity_roles\] admins in the secrets: 'herts.gov.uk' is not an e-mail address"),
    ({"officer_domains": ["a@herts.gov.uk"]}, {}, r"officer_domains .*'a@herts.gov.uk' is not an e-mail domain"),
    ({}, {"EQUITY_OFFICERS": "ok@x.org, oops"}, r"environment variable EQUITY_OFFICERS: 'oops' is not an e-mail"),
    ({"admins": "boss@x.org", "officer": ["a@x.org"]}, {}, r"unknown setting\(s\) officer"),
    ({"admins": [3]}, {}, r"admins in the secrets: 3 is not text"),
    ({"admins": {"a": 1}}, {}, r"admins in the secrets: expected a list"),
])
def test_signin_bad_role_settings_are_named(section, env, named):
    with pytest.raises(access.AccessConfigError, match=named):
        access.load_config(section, env)


def test_signin_permits_by_role():
    for action in access.NEEDS:
        assert access.permits(None, action), "no sign-in configured: open"
        assert not access.permits("viewer", action)
        assert access.permits("admin", action)
    assert access.permits("officer", "edit_register") and access.permits("officer", "import_register")
    assert access.permits("officer", "since_last_meeting") and not access.permits("officer", "load_data")
    assert not access.permits("nobody", "edit_register")
    with pytest.raises(KeyError, match="unknown action"):
        access.permits("admin", "drop_tables")
    assert access.refusal("load_data", "viewer", False) == "Loading data needs an admin: sign in first."
    assert access.refusal("load_data", "officer", True).startswith(
        "Loading data needs an admin; you are signed in as an officer.")


def test_signin_a_secrets_file_that_does_not_read_is_a_problem_not_an_open_app(tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "secrets.toml"
    good.write_text('[auth]\nredirect_uri = "http://x/oauth2callback"\n')
    bad.write_text('[auth]\nredirect_uri = "unterminated\n')
    assert access.unreadable_secrets([tmp_path / "absent.toml", good]) is None
    problem = access.unreadable_secrets([good, bad])
    assert problem.startswith("The server's secrets.toml cannot be read (") and str(tmp_path) not in problem


# ---- the pages, under AppTest ----------------------------------------------------------------------

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
        "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.fixture()
def register_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "user" / "partnerships.sqlite"
    monkeypatch.delenv("EQUITY_REGISTER_URL", raising=False)
    monkeypatch.setenv("EQUITY_USER_DB", str(path))
    return path


def _partnerships(user: dict | None, signin: bool = True):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / "partnerships.py"), default_timeout=180)
    if signin:
        at.secrets["auth"] = AUTH
        at.secrets[access.SECTION] = ROLES_SECTION
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _labels(at) -> list[str]:
    return [b.label for b in at.button]


def test_signin_not_configured_the_page_is_open_with_the_typed_name(built_db, register_file):
    at = _partnerships(None, signin=False)
    assert [t.key for t in at.text_input if t.key == "who"] == ["who"]
    assert "Add partnership" in _labels(at) and "Sign in" not in _labels(at)
    assert not [i for i in at.info if "needs an officer" in i.value]


def test_signin_visitor_is_refused_and_officer_is_recorded_by_address(built_db, register_file):
    from equity.analysis import partnerships as reg
    visitor = _partnerships({"is_logged_in": False})
    assert not [t for t in visitor.text_input if t.key == "who"], "no typed name once sign-in is configured"
    assert "Add partnership" not in _labels(visitor) and "Sign in" in _labels(visitor)
    refusals = [i.value for i in visitor.info if "needs an officer" in i.value]
    assert any(r.startswith("Adding, editing or ending a partnership needs an officer: sign in first") for r in refusals)
    assert any(r.startswith("Importing partnerships needs an officer") for r in refusals)
    assert not [u for u in visitor.get("file_uploader")], "no import for a visitor"

    viewer = _partnerships({"is_logged_in": True, "email": VIEWER, "email_verified": True})
    assert "Add partnership" not in _labels(viewer)
    assert any("needs an officer; you are signed in as a viewer" in i.value for i in viewer.info)

    officer = _partnerships({"is_logged_in": True, "email": OFFICER})
    assert "Add partnership" in _labels(officer) and not [t for t in officer.text_input if t.key == "who"]
    officer.number_input[0].set_value(SCHOOL)
    next(t for t in officer.text_input if t.label.startswith("Supporting school")).set_value(str(PARTNER))
    next(b for b in officer.button if b.label == "Add partnership").click().run()
    assert not officer.exception and not officer.error, [e.value for e in officer.error]
    rows = reg.register()
    assert list(rows.created_by) == [OFFICER] and list(rows.updated_by) == [OFFICER]
    assert set(reg.audit(int(rows.id.iloc[0])).changed_by) == {OFFICER}

    # who changed the register (an officer's address) is for officers: a viewer sees the register without it
    def columns(at):
        return [list(d.value.columns) for d in at.dataframe if "partners" in d.value.columns]
    assert columns(_partnerships({"is_logged_in": True, "email": OFFICER}))[0][-2:] == ["updated_by", "updated_at"]
    seen = columns(_partnerships({"is_logged_in": True, "email": VIEWER, "email_verified": True}))
    assert seen and not set(reg.PEOPLE_COLUMNS) & set(seen[0]) and "notes" in seen[0]
    assert OFFICER in reg.export_csv() and OFFICER not in reg.export_csv(with_people=False)


# ---- real sign-in in a real browser ----------------------------------------------------------------

@pytest.fixture(scope="module")
def provider():
    """A real OpenID Connect provider on loopback: its sign-in form takes any address as the subject
    and returns it as the ``email`` claim."""
    fixtures.require("playwright", "chromium", "oidc-provider-mock", what="real-browser sign-in tests")
    from oidc_provider_mock import run_server_in_thread
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signin_server(provider, built_db, tmp_path_factory):
    """The app with sign-in configured: one server for the module, its own database copy and register."""
    from bench.browser import Server, free_port
    tmp = tmp_path_factory.mktemp("signin")
    db = tmp / "equity.duckdb"
    shutil.copy(built_db, db)
    port = free_port()
    roles = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in ROLES_SECTION.items())
    secrets = tmp / "secrets.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-test-secret-that-is-long-enough-{os.getpid()}"
client_id = "equity-dashboard"
client_secret = "any"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[{access.SECTION}]
{roles}
""")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    register = tmp / "user" / "partnerships.sqlite"
    srv = Server(db, ARTIFACTS / "server.log", port=port, env={"EQUITY_USER_DB": str(register)},
                 args=["--secrets.files", str(secrets)])
    srv.register = register
    try:
        srv.wait_healthy(180)
        yield srv
    finally:
        srv.stop()


def _open(page, server, path: str) -> None:
    from bench.browser import exceptions_shown, wait_ready
    page.goto(f"{server.base}/{path}")
    wait_ready(page)
    assert not exceptions_shown(page)


def _sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _main(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _sign_in(page, server, email: str) -> None:
    """Click "Sign in", type ``email`` into the provider's form, come back signed in (to the app's
    home page, which is not waited for: the caller opens the page it wants)."""
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.fill('input[name="sub"]', email)
    page.get_by_role("button", name="Authorize").click()
    _back_home(page, server)


def _sign_out(page, server) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    # the provider's end-of-session page (OIDC RP-initiated logout) sends the browser back to the app
    page.wait_for_url("**/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    _back_home(page, server)


def _back_home(page, server) -> None:
    """Until the redirects through /oauth2callback have landed on the app's home page."""
    page.wait_for_url(lambda url: url.split("?")[0].rstrip("/") == server.base)
    page.wait_for_load_state()


def test_signin_browser_officer_adds_a_partnership_recorded_by_address_then_signs_out(
        signin_server, fresh_page):
    from equity.analysis import partnerships as reg
    page, srv = fresh_page, signin_server
    _open(page, srv, "partnerships")
    main = _main(page)
    assert "Adding, editing or ending a partnership needs an officer: sign in first." in main
    assert page.get_by_role("button", name="Add partnership").count() == 0
    assert page.get_by_label("Your name (recorded in the audit trail)").count() == 0
    assert "Browsing as a visitor" in _sidebar(page)
    page.screenshot(path=str(ARTIFACTS / "1-visitor.png"), full_page=True)

    _sign_in(page, srv, OFFICER)
    _open(page, srv, "partnerships")
    assert f"Signed in as {OFFICER} (officer)" in _sidebar(page)
    assert page.locator('[data-testid="stSidebar"] a[href^="mailto:"]').count() == 0, "the address is text"
    assert "needs an officer" not in _main(page)
    page.get_by_label("School receiving support (URN)").fill(str(SCHOOL))
    page.get_by_label("Supporting school(s): one URN, or two for a trio").fill(str(PARTNER))
    page.get_by_label("Focus", exact=True).first.fill("maths, signed in")
    page.get_by_role("button", name="Add partnership").click()
    from bench.browser import wait_ready
    wait_ready(page)
    assert "Partnership 1 recorded." in _main(page)
    # the register file records the signed-in address, not a typed name
    os.environ["EQUITY_USER_DB"], saved = str(srv.register), os.environ.get("EQUITY_USER_DB")
    try:
        rows = reg.register()
        history = reg.audit(1)
    finally:
        if saved is None:
            os.environ.pop("EQUITY_USER_DB")
        else:
            os.environ["EQUITY_USER_DB"] = saved
    assert list(rows.created_by) == [OFFICER] and set(history.changed_by) == {OFFICER}
    # and the page's audit trail shows it
    page.get_by_role("tab", name="Edit or end a partnership").click()
    page.get_by_text("Audit trail").click()
    page.wait_for_timeout(500)
    trail = page.locator('[data-testid="stExpander"]', has_text="Audit trail")
    assert OFFICER in trail.inner_text() or OFFICER in trail.locator("table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "2-officer.png"), full_page=True)

    _sign_out(page, srv)
    _open(page, srv, "partnerships")
    assert "Adding, editing or ending a partnership needs an officer: sign in first." in _main(page)
    assert page.get_by_role("button", name="Add partnership").count() == 0
    assert "Signed in as" not in _sidebar(page)


def test_signin_browser_viewer_is_refused_officer_and_admin_on_the_data_page(signin_server, chromium):
    srv = signin_server
    seen = {}
    for who in (VIEWER, OFFICER, ADMIN):
        with fixtures.new_page(chromium) as page:
            _open(page, srv, "data")
            if who == VIEWER:
                assert "Loading data needs an admin: sign in first." in _main(page)
            _sign_in(page, srv, who)
            _open(page, srv, "data")
            seen[who] = (_sidebar(page), _main(page))
            if who == VIEWER:
                _open(page, srv, "partnerships")
                assert "needs an officer; you are signed in as a viewer" in _main(page)
                assert page.get_by_role("button", name="Add partnership").count() == 0
                # the meeting page's sidebar says so before its pack is gathered: wait for that alone
                page.goto(f"{srv.base}/meeting")
                page.locator('[data-testid="stSidebar"]').get_by_text(
                    "Comparing with the database used at the last meeting needs an officer").wait_for()
                assert page.get_by_role("radio", name="two database builds").count() == 0
    assert f"Signed in as {VIEWER} (viewer)" in seen[VIEWER][0]
    assert "Loading data needs an admin; you are signed in as a viewer." in seen[VIEWER][1]
    assert f"Signed in as {OFFICER} (officer)" in seen[OFFICER][0]
    assert "Loading data needs an admin; you are signed in as an officer." in seen[OFFICER][1]
    assert f"Signed in as {ADMIN} (admin)" in seen[ADMIN][0]
    assert "Loading data needs an admin" not in seen[ADMIN][1]
