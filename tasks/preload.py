"""What the page workers' fork server loads before it forks them, so that they all share it.

Imported only by that server (see `armswatch.tasks.process`): the extraction
and analysis code, and the language identifier's model, about 75 MB that each
worker would otherwise load for itself.
"""

import gc
import os

# A worker never talks to Prefect. A script that starts a run without a
# `__main__` guard runs again in each worker as it starts; there it must fail
# at once rather than start a temporary Prefect server that the dying worker
# would leave running.
os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "false"

from armswatch.tasks import extract, process  # noqa: F401
from armswatch.tasks.text import warm_up

process.IN_WORKER = True
warm_up()
# What is loaded now lives as long as the server: moved out of the collector's
# reach, its objects are not written to (and so not copied) in every worker
# each time the worker collects.
gc.freeze()
