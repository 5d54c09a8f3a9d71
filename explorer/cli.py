"""``vae-explorer [STREAMLIT OPTIONS] [-- EXPLORER OPTIONS]``: ``streamlit run`` on this
package's app, from any folder. Explorer options (``--bundles DIR``, ``--no-training``,
``--runs-dir DIR``, ``--max-runs N``, ``--class``, ``--teacher-token TOKEN``) follow ``--``;
with no ``--``, every argument is one.

It listens on localhost only, for the person at this machine, unless ``--class`` is given:
then on every network interface, with what a visitor must not have switched off
(explorer.serving). A ``--server.address`` given by hand wins either way."""
from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli as streamlit_cli

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):  # say how, rather than start a server
        print(__doc__)
        return 0
    ours, theirs = (argv[argv.index("--") + 1:], argv[:argv.index("--")]) if "--" in argv else (argv, [])
    if not any(a.startswith("--server.address") for a in theirs):
        theirs = ["--server.address", "0.0.0.0" if "--class" in ours else "localhost", *theirs]
    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), *theirs, "--", *ours]
    return streamlit_cli.main()
