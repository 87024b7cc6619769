"""A labelled picture grid of samples with their masks overlaid, for any task."""
import numpy as np
from PIL import Image, ImageDraw

MASK_TINT = np.array([255, 0, 255], dtype=np.float32)  # magenta: absent from every task's palette


def to_rgb(image):
    """[C,H,W] uint8 -> [H,W,3] uint8 (gray replicated)."""
    if image.shape[0] == 1:
        return np.repeat(image[0][:, :, None], 3, axis=2)
    return np.transpose(image[:3], (1, 2, 0))


def overlay(rgb, mask, alpha=0.55):
    out = rgb.astype(np.float32)
    on = mask.astype(bool)
    out[on] = (1 - alpha) * out[on] + alpha * MASK_TINT
    return out.astype(np.uint8)


def tile(sample, scale):
    rgb = to_rgb(sample["images"])
    panels = [rgb]
    if "masks" in sample:
        panels.append(overlay(rgb, sample["masks"]))
    strip = np.concatenate([np.pad(p, ((0, 0), (0, 2), (0, 0)), constant_values=96) for p in panels], axis=1)
    img = Image.fromarray(strip)
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


def caption(index, sample):
    parts = [f"#{index}"]
    if "labels" in sample:
        parts.append(f"label {int(sample['labels'])}")
    return "  ".join(parts)


def preview_grid(ds, n=16, columns=None, min_side=120):
    n = min(n, len(ds))
    side = ds.shards.sample(0, ["images"])["images"].shape[-1]
    scale = max(1, -(-min_side // side))
    tiles = []
    for index in range(n):
        sample = ds.shards.sample(index)
        tiles.append((tile(sample, scale), caption(index, sample)))
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = -(-n // columns)
    tw = max(t.width for t, _ in tiles)
    th = max(t.height for t, _ in tiles) + 14
    grid = Image.new("RGB", (columns * (tw + 6), rows * (th + 6)), (40, 40, 40))
    draw = ImageDraw.Draw(grid)
    for k, (t, text) in enumerate(tiles):
        x = (k % columns) * (tw + 6) + 3
        y = (k // columns) * (th + 6) + 3
        grid.paste(t, (x, y + 14))
        draw.text((x, y), text, fill=(255, 255, 160))
    return grid
