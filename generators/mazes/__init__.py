"""Mazes: DFS perfect mazes in the easy-to-hard format (kernel, task, ``benchgen mazes``)."""
