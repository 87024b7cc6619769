"""Training losses: cross-entropy, maze cross-entropy over non-wall pixels, focal loss."""
import torch.nn.functional as F

FOCAL_GAMMA = 2.0


def cross_entropy(logits, target, images):
    return F.cross_entropy(logits.float(), target)


def maze_cross_entropy(logits, target, images):
    """Per-pixel cross-entropy averaged over non-wall pixels (input not black), as the
    easy-to-hard reference trains: walls are trivially background and would dominate."""
    per_pixel = F.cross_entropy(logits.float(), target, reduction="none")
    open_pixels = (images.amax(dim=1) > 0).to(per_pixel.dtype)
    return (per_pixel * open_pixels).sum() / open_pixels.sum().clamp_min(1)


def focal(logits, target, images, gamma=FOCAL_GAMMA):
    """Per-pixel focal loss -(1 - p_t)^gamma log p_t, averaged over pixels (thin contours
    are ~1% of the image; the focal factor keeps easy background from dominating)."""
    logp = F.log_softmax(logits.float(), dim=1).gather(1, target[:, None]).squeeze(1)
    return (-(1 - logp.exp()) ** gamma * logp).mean()


LOSSES = {"ce": cross_entropy, "maze-ce": maze_cross_entropy, "focal": focal}


def default_loss(task_name, output):
    if task_name == "mazes":
        return "maze-ce"
    if output == "segmentation":
        return "focal"
    return "ce"
