"""Registry of the baseline models: ``get(name)(task, **settings) -> nn.Module``.

Every model follows the model contract (``forward(x, steps)``, ``iterate(x, steps)``;
feedforward ones set ``recurrent = False``). ``settings`` override the family's per-task
defaults (width, kernel, steps, ...); unknown settings are refused.
"""
import sys

from benchmark import contract

from . import convgru, feedback, hgru, locrnn, resnets

_BUILDERS = {
    "locrnn": locrnn.build,
    "hgru": hgru.build,
    "hgru2018": hgru.build_2018,
    "convgru": convgru.build,
    "convgru-relu": convgru.build_relu,
    "rresnet": resnets.build_rresnet,
    "dt-recall": resnets.build_dtr,
    "resnet12": resnets.resnet_d(12),
    "resnet20": resnets.resnet_d(20),
    "resnet36": resnets.resnet_d(36),
    "resnet10": resnets.imagenet_resnet((1, 1, 1, 1)),
    "resnet18": resnets.imagenet_resnet((2, 2, 2, 2)),
    "feedback-rnn": feedback.build,
    "feedback-rnn-add": feedback.build_additive,
}


def names():
    return sorted(_BUILDERS)


def get(name):
    try:
        return _BUILDERS[name]
    except KeyError:
        raise KeyError(f"unknown baseline {name!r}; available: {', '.join(names())}") from None


# Resolvable as baselines:NAME by the harness even where the package is used from a
# checkout without being installed (installed, the entry point in pyproject.toml finds it).
contract.register(contract.BASELINES, sys.modules[__name__])
