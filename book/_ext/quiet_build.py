"""A build log with nothing in it but progress, and no warning line at all.

Two sources of noise are removed where they start, not filtered out of the log afterwards:

- **"Kernel is running over TCP without encryption."** ipykernel 7 prints this warning when a
  kernel listens on TCP ports without CurveZMQ keys, and the book starts one kernel per notebook.
  The kernels here talk to the build on the same machine, so they use IPC transport (Unix domain
  sockets in the Jupyter runtime folder, readable only by the user), which is both quieter and
  what the warning itself recommends.
- **The parsers' configuration dump.** myst-parser and myst-nb log their whole configuration
  objects ("MdParserConfig(...)", "NbParserConfig(...)") at every build. The lines are
  informational and several screens wide; this extension drops just those two records.
"""

import logging
import uuid
from pathlib import Path


def _ipc_kernels() -> None:
    import nbclient.client
    from jupyter_core.paths import jupyter_runtime_dir

    if getattr(nbclient.client.NotebookClient, "_dm_ipc", False):
        return
    original = nbclient.client.NotebookClient.create_kernel_manager

    def create_kernel_manager(self):
        km = original(self)
        km.transport = "ipc"
        # An absolute socket path: the kernel runs in the notebook's folder, the client does not.
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        km.ip = str(runtime / f"book-kernel-{uuid.uuid4().hex[:12]}")
        return km

    nbclient.client.NotebookClient.create_kernel_manager = create_kernel_manager
    nbclient.client.NotebookClient._dm_ipc = True


class _NoConfigDump(logging.Filter):
    """Drop the "myst vX: MdParserConfig(...)" and "myst-nb vX: NbParserConfig(...)" lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        return "MdParserConfig(" not in message and "NbParserConfig(" not in message


def setup(app):
    _ipc_kernels()
    for name in ("sphinx.myst_parser.sphinx_ext.main", "sphinx.myst_nb.sphinx_ext"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoConfigDump) for f in logger.filters):
            logger.addFilter(_NoConfigDump())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
