"""Entry point of ``python -m vae_core.evaluate``; the code lives in :mod:`vae_core.evaluate_command`.

Kept separate so that importing the package (which exports the function ``evaluate``) does not
import this module under the name that -m is about to run.
"""
import sys

from vae_core.evaluate_command import main

if __name__ == "__main__":
    sys.exit(main())
