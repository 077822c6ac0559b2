"""The flows as deployments run them: on the task runner the worker's environment asks for.

A worker starts every flow run in a new process, so ARMSWATCH_TASK_RUNNER and
ARMSWATCH_DASK_ADDRESS are read afresh at the start of each run.
"""

from __future__ import annotations

from armswatch.flows.backfill import backfill as _backfill
from armswatch.flows.monitor import configured
from armswatch.flows.monitor import monitor as _monitor

monitor = configured(_monitor)
backfill = configured(_backfill)
