"""Cluttered MNIST / Fashion-MNIST scenes (kernel, task, sources, on-the-fly stream,
``benchgen clutter`` and ``benchgen sources``)."""
