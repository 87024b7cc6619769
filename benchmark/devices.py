"""Choosing the torch device from a user's option, with one clear error."""
import torch

from .errors import HarnessError


def resolve_device(name, allow_auto=False):
    """'cpu', 'cuda', 'cuda:1' (and 'auto' where allowed) -> torch.device, or HarnessError."""
    if allow_auto and name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    choices = "auto, cpu, cuda, cuda:0, ..." if allow_auto else "cpu, cuda, cuda:0, ..."
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HarnessError(f"device {name!r} is not a torch device ({choices})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HarnessError(f"device {name!r} asked but CUDA is not available here; use --device cpu")
    return device
