"""Training recipes of the published baselines (optimizer, schedule, batch, algorithm).

One ``Recipe`` per (model family, task); a model file of a user gets ``DEFAULT``. Numbers
come from ../shared/specs/baselines.md; where a paper gives none the choice is ours and
says so in a comment.
"""
import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    optimizer: str = "adam"             # adam | adamw | sgd
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9               # SGD only
    batch_size: int = 32
    epochs: int = 10
    warmup_epochs: float = 0.0          # linear warmup, then cosine decay (our choice of decay)
    algorithm: str = "bptt"
    recurrent_lr_factor: float = 1.0    # lr multiplier of the weight-shared block (DT-R: 1/30)
    clip_grad_norm: float = 0.0         # 0: none
    progressive_alpha: float = 0.01
    lcp_weight: float = 10.0
    lcp_lambda: float = 0.9
    neumann_steps: int = 15

    def replace(self, **changes):
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


DEFAULT = Recipe()
_MAZE_SGD = Recipe(optimizer="sgd", lr=0.002, weight_decay=2e-4, batch_size=50, epochs=50, warmup_epochs=5)
_DT = Recipe(optimizer="adam", lr=1e-3, weight_decay=2e-4, batch_size=50, epochs=50, warmup_epochs=10,
             clip_grad_norm=2.0)       # the DT code clips gradients; 2.0 is our value
_PF_ADAM = Recipe(optimizer="adam", lr=1e-4, batch_size=256, epochs=5)
_PF_SEG = Recipe(optimizer="adam", lr=1e-3, batch_size=128, epochs=20)

RECIPES = {
    ("locrnn", "mazes"): _MAZE_SGD,
    ("locrnn", "pathfinder"): _PF_ADAM,
    ("convgru", "mazes"): _MAZE_SGD,
    ("convgru", "pathfinder"): _PF_ADAM,
    ("hgru", "pathfinder-seg"): _PF_SEG.replace(algorithm="crbp"),
    ("hgru", "pathfinder"): _PF_ADAM.replace(algorithm="crbp"),
    ("hgru", "mazes"): _MAZE_SGD.replace(algorithm="crbp"),
    ("hgru2018", "pathfinder-seg"): _PF_SEG,
    ("hgru2018", "pathfinder"): _PF_ADAM,
    ("dt-recall", "mazes"): _DT.replace(algorithm="progressive", recurrent_lr_factor=1 / 30),
    ("rresnet", "mazes"): _DT,
    ("resnet-d", "mazes"): _DT,
    ("resnet", "pathfinder"): _PF_ADAM,
    ("feedback", "clutter"): Recipe(optimizer="adam", lr=1e-4, batch_size=32, epochs=30),
}

FAMILY = {"convgru-relu": "convgru", "resnet12": "resnet-d", "resnet20": "resnet-d", "resnet36": "resnet-d",
          "resnet10": "resnet", "resnet18": "resnet", "feedback-rnn": "feedback", "feedback-rnn-add": "feedback"}


def recipe_for(model_name, task):
    """The recipe of baseline ``model_name`` (None for a user's file) on ``task``."""
    if model_name is None:
        return DEFAULT
    family = FAMILY.get(model_name, model_name)
    if (family, task) in RECIPES:
        return RECIPES[(family, task)]
    if task == "pathfinder-seg" and (family, "pathfinder") in RECIPES:
        return RECIPES[(family, "pathfinder")].replace(batch_size=128)
    return DEFAULT
