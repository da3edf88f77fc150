"""esda and libpysal, imported on their plain NumPy path.

With numba installed (the assignment kernel needs it), esda compiles its conditional
permutation functions on their first call, and one of them (``compute_chunk``, which takes the
statistic as a function argument) cannot be cached by numba: 10 to 30 seconds of CPU in the
first analytics request of every server process, and in every test process. esda's NumPy path
answers a city district's grids in a fraction of a second, so esda and libpysal are imported
here with numba out of their sight; every module of this package imports them from here.
"""

from __future__ import annotations

import sys

_numba = sys.modules.get("numba")
sys.modules["numba"] = None  # type: ignore[assignment]  # "import numba" raises ImportError
try:
    import libpysal.common  # noqa: E402
    from esda import G_Local, fdr  # noqa: E402
    from libpysal.weights import Queen, W  # noqa: E402
finally:
    del sys.modules["numba"]
    if _numba is not None:
        sys.modules["numba"] = _numba

#: Whether libpysal saw numba (False when this module imported it first, as it should).
COMPILED = bool(libpysal.common.HAS_JIT)

__all__ = ["COMPILED", "G_Local", "Queen", "W", "fdr"]
