"""esda and libpysal, imported on their plain NumPy path.

With numba installed (the assignment kernel needs it), esda compiles its conditional
permutation functions on their first call, and one of them (``compute_chunk``, which takes the
statistic as a function argument) cannot be cached by numba: 10 to 30 seconds of CPU in the
first analytics request of every server process, and in every test process. esda's NumPy path
answers a city district's grids in a fraction of a second, so esda and libpysal are imported
here with numba out of their sight; every module of this package imports them from here (and
so should a test or an example: libpysal imported plainly first would see numba). The
permutations themselves run in :mod:`api.analytics.permutations` (esda's draws, a loop numba
can cache), as esda's loop copies every value for every unit.
"""

from __future__ import annotations

from geo.imports import hidden

with hidden("numba"):
    import libpysal
    import libpysal.common
    import libpysal.weights
    from esda import G_Local, fdr
    from esda.crand import vec_permutations
    from libpysal.graph import Graph
    from libpysal.weights import Queen, W

#: Whether libpysal saw numba (False when this module imported it first, as it should).
COMPILED = bool(libpysal.common.HAS_JIT)

__all__ = ["COMPILED", "G_Local", "Graph", "Queen", "W", "fdr", "libpysal", "vec_permutations"]
