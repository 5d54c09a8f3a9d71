"""``vae-explorer [STREAMLIT OPTIONS] [-- EXPLORER OPTIONS]``: ``streamlit run`` on this
package's app, from any folder. Explorer options (``--bundles DIR``, ``--no-training``,
``--runs-dir DIR``, ``--max-runs N``) follow ``--``; with no ``--``, every argument is one."""
from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli as streamlit_cli

    argv = sys.argv[1:] if argv is None else argv
    ours, theirs = (argv[argv.index("--") + 1:], argv[:argv.index("--")]) if "--" in argv else (argv, [])
    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), *theirs, "--", *ours]
    return streamlit_cli.main()
