"""Who may do what on this explorer: the person at their own machine, or a class.

Two ways to serve, chosen on purpose:

- **Local** (the default): Streamlit listens on localhost only (.streamlit/config.toml,
  ``vae-explorer``); the one person who can reach it has everything: starting and stopping
  runs, the folder data set, paths typed into forms.
- **Class** (``vae-explorer --class``, or ``streamlit run explorer/app.py --server.address
  0.0.0.0 -- --class``): it listens on the network, and a visitor can look at every model
  and upload their own, but cannot start, stop or see runs, name a folder of the server, or
  type a path. The teacher gets those back in their own session by entering the teacher
  token in the sidebar: ``--teacher-token``, ``$VAE_EXPLORER_TEACHER_TOKEN`` or
  ``teacher_token`` in .streamlit/secrets.toml; with none of them, a token is made when the
  first page is drawn and printed to the terminal that started the server.

An explorer that listens beyond localhost without ``--class`` (a server.address of 0.0.0.0
given by hand, or Streamlit's own default of every interface when run from a folder without
our config) is served as a class too: reaching the port must never be enough to control the
server.
"""
from __future__ import annotations

import argparse
import hmac
import os
import secrets
import sys

import streamlit as st

from explorer import launch
from vae_core import runs

CLASS_ENV, TOKEN_ENV = "VAE_EXPLORER_CLASS", "VAE_EXPLORER_TEACHER_TOKEN"
MIN_TOKEN_CHARS = 16  # a shorter token could be guessed through the sign-in box
MAX_SIGN_IN_TRIES = 5  # per session; then the box is gone for that session
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--class", dest="class_mode", action="store_true")
    parser.add_argument("--teacher-token", default=None)
    return parser.parse_known_args(sys.argv[1:])[0]


def listens_beyond_localhost() -> bool:
    """Whether Streamlit's server.address lets other machines connect (unset: every interface)."""
    return (st.get_option("server.address") or "").strip("[]") not in LOOPBACK


def class_mode() -> bool:
    """Served to a class: ``--class``, ``$VAE_EXPLORER_CLASS``, or listening beyond localhost."""
    return _options().class_mode or launch.env_flag(CLASS_ENV) or listens_beyond_localhost()


def _configured_token() -> str | None:
    token = _options().teacher_token or os.environ.get(TOKEN_ENV)
    if not token:
        try:
            token = st.secrets.get("teacher_token")
        except Exception:  # noqa: BLE001  (no secrets.toml, or one that does not parse: no token from there)
            token = None
    return token if isinstance(token, str) and token else None


def teacher_token() -> str:
    """The class's teacher token: the configured one, else one made once per server process
    and printed to the terminal. A configured token under MIN_TOKEN_CHARS is replaced so."""
    token = _configured_token()
    return token if token and len(token) >= MIN_TOKEN_CHARS else _made_token(too_short=bool(token))


@st.cache_resource(show_spinner=False)
def _made_token(too_short: bool) -> str:
    if too_short:
        print(f"vae-explorer: the teacher token is under {MIN_TOKEN_CHARS} characters; using a new one",
              file=sys.stderr)
    token = secrets.token_urlsafe(18)
    print(f"vae-explorer: served to a class. Teacher token (enter it in the sidebar to start and stop runs): "
          f"{token}", file=sys.stderr, flush=True)
    return token


def is_teacher() -> bool:
    """This session entered the teacher token (class mode)."""
    return st.session_state.get("_teacher") is True


def in_charge() -> bool:
    """Whether this session may control the server: start and stop runs, name folders."""
    return not class_mode() or is_teacher()


def owner() -> str:
    """Who a run started from this session belongs to: "teacher" in a class (every session the
    teacher signed in to), else "local" (the one person at this machine)."""
    return "teacher" if class_mode() else "local"


def stop(out) -> bool:
    """Stop the run writing to ``out`` as this session may (vae_core.runs.stop): in a class only
    a run the teacher started here; locally any run of this machine."""
    return runs.stop(out, owner="teacher" if class_mode() else None)


def may_stop(run) -> bool:
    """Whether this session may stop ``run`` (a vae_core.runs.Run): locally, any run of this
    machine (as from its terminal); in a class, the teacher the runs they started here."""
    if not in_charge() or run.state != "running" or not run.local:
        return False
    return not class_mode() or run.owner == "teacher"


def sign_in(token: str) -> bool:
    """Check ``token`` against the teacher token (in constant time); True makes this session
    the teacher's. After MAX_SIGN_IN_TRIES wrong ones this session is refused for good."""
    tries = st.session_state.get("_teacher_tries", 0)
    if tries >= MAX_SIGN_IN_TRIES:
        return False
    if hmac.compare_digest(token.encode(), teacher_token().encode()):
        st.session_state["_teacher"] = True
        return True
    st.session_state["_teacher_tries"] = tries + 1
    return False


def sign_in_box() -> None:
    """The sidebar's teacher sign-in, in class mode only."""
    if not class_mode():
        return
    teacher_token()  # made and printed to the terminal on the first page drawn, if none is configured
    with st.sidebar.expander("Teacher" + (" (signed in)" if is_teacher() else "")):
        if is_teacher():
            st.caption("This session may start and stop runs. Other sessions stay visitors.")
            if st.button("Sign out", key="teacher_out"):
                st.session_state["_teacher"] = False
                st.rerun()
            return
        if st.session_state.get("_teacher_tries", 0) >= MAX_SIGN_IN_TRIES:
            st.caption("Too many wrong tokens in this session.")
            return
        with st.form("teacher_form", border=False):
            token = st.text_input("Teacher token", type="password", max_chars=200, key="teacher_token",
                                  help="printed in the terminal that started this explorer")
            if st.form_submit_button("Sign in"):
                if sign_in(token) or st.session_state["_teacher_tries"] >= MAX_SIGN_IN_TRIES:
                    st.rerun()  # drawn again: the teacher's pages, or no box
                st.error("Not the teacher token.")


def require_in_charge(what: str) -> None:
    """Stop a page that only the person in charge of the server may see, saying so in a
    sentence (the page is not in a visitor's menu, but its address still resolves)."""
    if not in_charge():
        st.info(f"This explorer is served to a class: {what} is for the teacher, who signs in with the teacher "
                "token in the sidebar. Every model's views are open to you.")
        st.stop()
