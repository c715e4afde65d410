"""Numba kernels, compiled with cache=True: numba writes its cache beside this file natively, and
in an archive (read-only) where the bootstrap's NUMBA_CACHE_DIR says."""
import numba
import numpy as np


@numba.njit(cache=True)
def logistic_orbit(r, x0, steps):
    """The logistic map x -> r x (1 - x), iterated: deterministic in IEEE arithmetic."""
    out = np.empty(steps)
    x = x0
    for i in range(steps):
        x = r * x * (1.0 - x)
        out[i] = x
    return out
