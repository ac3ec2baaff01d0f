"""Where the tests find the real data sets (MNIST, the ZIP digits): one rule for every test module.

``$NETFIT_DATA_DIR`` when it is set (the loaders' own first place, netfit.datasets._files), else
``../shared/data`` beside the repository (the layout CI and the developers' machines have). A clone
elsewhere with NETFIT_DATA_DIR set runs the real-data tests instead of skipping them.
"""
import os
from pathlib import Path

BESIDE = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_DATA = Path(os.environ["NETFIT_DATA_DIR"]).expanduser() if os.environ.get("NETFIT_DATA_DIR") else BESIDE
#: The skip reason when a data set is not in SHARED_DATA (the end-of-run note gives its fix).
ABSENT = "no data folder: ../shared/data is absent and NETFIT_DATA_DIR is unset or lacks the data set"
