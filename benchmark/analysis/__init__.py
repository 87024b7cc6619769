"""Analyses of trained recurrent models (stability of their dynamics)."""
