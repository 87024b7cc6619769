"""Training of recurrent models: BPTT, progressive loss, RBP, C-RBP and C-BPTT."""
from .algorithms import ALGORITHMS
from .loop import TrainConfig, train

__all__ = ["ALGORITHMS", "TrainConfig", "train"]
