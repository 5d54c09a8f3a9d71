"""The checkpoint bundle: the only code that reads or writes one.

A bundle is a folder, with no pickle anywhere, so opening a stranger's can never run code
(the files are listed in ``files.py``). Every file is written to a temporary name, flushed
and renamed over the old one, so a reader (the explorer, while training runs) never sees half
a file. By job: ``files`` (names, atomic writes, config, metrics, history), ``loading``
(validation and ``load_bundle``), ``derived`` (the stamped caches of maps and encodings),
``train_state`` (what ``--resume`` reads), ``zipped`` (uploads).
"""
import os  # noqa: F401  (tests patch checkpoint.os.fsync to simulate a full disk)

from vae_core.checkpoint.derived import (  # noqa: F401
                      ENCODING_FIELDS,
                      PROBE_BOUNDS_K,
                      PROBE_BOUNDS_N,
                      probe_bounds,
                      read_encodings,
                      read_probe_bounds,
                      read_projections,
                      weights_stamp,
                      write_encodings,
                      write_projections,
)
from vae_core.checkpoint.files import (  # noqa: F401
                      BUNDLE_FILES,
                      CONFIG,
                      ENCODINGS,
                      FORMAT,
                      FORMAT_VERSION,
                      HISTORY,
                      MAX_FILE_BYTES,
                      MAX_PROBE_IMAGES,
                      MAX_UNZIPPED_BYTES,
                      MAX_ZIP_ENTRIES,
                      METRICS,
                      PROBE,
                      PROJECTIONS,
                      REQUIRED,
                      TRAIN_STATE,
                      WEIGHTS,
                      BundleError,
                      atomic_write,
                      check_writable,
                      find_bundles,
                      read_config,
                      read_configs,
                      read_metrics,
                      start_bundle,
                      weights_digest,
                      write_config,
                      write_metrics,
                      write_probe,
                      write_weights,
)
from vae_core.checkpoint.history import HISTORY_TAIL_BYTES, append_history, keep_history_through, read_history  # noqa: F401
from vae_core.checkpoint.loading import Bundle, load_bundle  # noqa: F401
from vae_core.checkpoint.train_state import read_train_state, restore_train_state, save_train_state, write_train_state  # noqa: F401
from vae_core.checkpoint.zipped import extract_zipped_bundle  # noqa: F401
