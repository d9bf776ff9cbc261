"""The process environment PyTriton's bundled tritonserver needs, checked and fixed before start.

In: this process's environment. Out: LD_LIBRARY_PATH fixed in place, or a
TritonEnvironmentError that says what to install. Two known traps:
- Its Python-backend stub loads libpython through the library search path. With a Python
  built outside the system (pyenv, for one) it finds another libpython first and every model
  fails to load with `'_thread.RLock' object has no attribute '_recursion_count'`. The cure is
  LD_LIBRARY_PATH starting with this interpreter's LIBDIR.
- Its proxy is built against numpy 1.x, so numpy 2 cannot run it.

tritonserver and the stub are children started later by this process, so fixing
`os.environ` here is enough: they inherit it (no re-exec of ourselves is needed).
"""

import os
import sysconfig

import numpy as np


class TritonEnvironmentError(RuntimeError):
    """This Python environment cannot run the bundled Triton."""


def python_libdir() -> str | None:
    """The directory holding this interpreter's libpython (None for a static build)."""
    return sysconfig.get_config_var("LIBDIR") or None


def prepare_triton_environment(environ: os._Environ | dict[str, str] = os.environ) -> None:
    """Put LIBDIR first in LD_LIBRARY_PATH (in place) and check numpy; raises
    TritonEnvironmentError with what to do when the environment cannot work."""
    if int(np.__version__.split(".")[0]) >= 2:
        raise TritonEnvironmentError(
            f"nvidia-pytriton needs numpy<2 but numpy {np.__version__} is installed: "
            "pip install 'numpy<2'"
        )
    libdir = python_libdir()
    if libdir is None:
        return
    paths = [p for p in environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    if not paths or paths[0] != libdir:
        environ["LD_LIBRARY_PATH"] = os.pathsep.join([libdir, *(p for p in paths if p != libdir)])
