"""A counter-based random stream for numba kernels (SplitMix64).

Each sample owns one stream started from its 64-bit seed, so kernels never touch numba's
global generator (whose seed is 32-bit and shared per thread).
"""
import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def new_state(seed):
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed)
    return state


@njit(cache=True)
def next_u64(state):
    state[0] = state[0] + _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def uniform(state):
    """Float in [0, 1) with 53 random bits."""
    return np.float64(next_u64(state) >> np.uint64(11)) * _INV53


@njit(cache=True)
def randbelow(state, n):
    """Integer in [0, n); the bias of scaling a 53-bit float is below 2**-40 for n < 2**13."""
    return np.int64(uniform(state) * n)


@njit(cache=True)
def uniform_range(state, lo, hi):
    return lo + (hi - lo) * uniform(state)


@njit(cache=True)
def mix_word(h, w):
    """Fold a 64-bit word into a running hash (used for canonical content hashes)."""
    z = (h ^ np.uint64(w)) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))
