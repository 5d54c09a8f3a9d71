"""Entry point of ``python -m vae_core.import_examples``; the code lives in :mod:`vae_core.foreign`."""
import sys

from vae_core.foreign import main

if __name__ == "__main__":
    sys.exit(main())
