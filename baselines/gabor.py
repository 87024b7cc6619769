"""Gabor filter banks, computed from their formula (never loaded from a file)."""
import math

import torch


def gabor_bank(n, size, in_channels=1, orientations=8, wavelengths=(4.0, 8.0)):
    """``n`` zero-mean, unit-norm Gabor filters of ``size`` x ``size``: [n, in_channels, size, size].

    Filter i cycles through orientations first, then the two phases (even, odd), then the
    wavelengths, so any ``n`` gets a spread of orientations. The same 2-D filter is copied
    to every input channel and divided by the channel count, so a gray image replicated to
    RGB gives the same response as the gray image.
    """
    half = (size - 1) / 2.0
    coords = torch.arange(size, dtype=torch.float64) - half
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    filters = torch.empty(n, size, size, dtype=torch.float64)
    for i in range(n):
        theta = math.pi * (i % orientations) / orientations
        phase = 0.0 if (i // orientations) % 2 == 0 else math.pi / 2
        lam = wavelengths[(i // (2 * orientations)) % len(wavelengths)]
        lam = min(lam, size / 1.5)          # keep at least ~1.5 periods inside small kernels
        sigma = 0.56 * lam                  # bandwidth of about one octave
        xr = xx * math.cos(theta) + yy * math.sin(theta)
        yr = -xx * math.sin(theta) + yy * math.cos(theta)
        g = torch.exp(-(xr ** 2 + (0.5 * yr) ** 2) / (2 * sigma ** 2)) * torch.cos(2 * math.pi * xr / lam + phase)
        g = g - g.mean()
        filters[i] = g / g.norm().clamp_min(1e-12)
    bank = filters[:, None].repeat(1, in_channels, 1, 1) / in_channels
    return bank.float()
