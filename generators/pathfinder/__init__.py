"""PathFinder: contour-tracing images (kernel, task, ``benchgen pathfinder``, cue audit)."""
