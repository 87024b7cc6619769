"""Scripted training runs of the baselines (see ``gpu.py``)."""
