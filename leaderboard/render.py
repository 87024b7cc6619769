"""The leaderboard as text tables and as a static HTML page with extrapolation plots."""
import html
from pathlib import Path

from benchmark import suite
from benchmark.plots import extrapolation_plot
from generators.atomic import replacing

from .board import rank_score, tables


def _difficulties(task, sets, entries):
    if task in suite.TASKS:
        return list(suite.default_test_difficulties(task, sets))
    return sorted({int(d) for e in entries for d in e["label_free"]["scores"]})


def _fmt(v):
    return "-" if v is None else f"{100 * v:.1f}"


def rows(task, sets, entries):
    """Header and rows of one table (scores in percent)."""
    ds = _difficulties(task, sets, entries)
    header = ["#", "model", "recipe", "params", "train d/steps", "in-dist"] + \
             [f"d{d}" for d in ds] + ["mean", "rule"]
    body = []
    for k, e in enumerate(entries, start=1):
        lf = e["label_free"]["scores"]
        # Entries re-scored on fresh test sets (bench submit --rescore) are marked.
        name = e["name"] + (" [re-scored]" if e.get("rescored") else "")
        body.append([str(k), name, e["recipe"], f"{e['parameters']:,}",
                     f"{e['train']['difficulty']}/{e['train']['steps'] if e['recurrent'] else '-'}",
                     _fmt(e["in_distribution"])]
                    + [_fmt(lf.get(str(d))) for d in ds] + [_fmt(rank_score(e)), e["label_free"]["rule"]])
    return header, body


def text(board):
    """One plain-text table per (task, sets); label-free scores per difficulty, in percent."""
    out = []
    groups = tables(board)
    if not groups:
        return "The leaderboard is empty.\n"
    for (task, sets), entries in groups.items():
        out.extend(table(task, sets, entries))
    return "\n".join(out)


def table(task, sets, entries):
    """Lines of one plain-text table (title, header, one row per entry, blank line)."""
    header, body = rows(task, sets, entries)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    out = [f"{task} ({sets} sets, suite {suite.SUITE_VERSION}); metric: {entries[0]['grid']['metric']}, "
           "label-free budget, percent"]
    for r in [header] + body:
        out.append("  ".join(c.rjust(w) if i not in (1, 2, len(r) - 1) else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    out.append("")
    return out


def write_html(board, folder):
    """index.html plus one extrapolation plot per entry in ``folder``; returns the page path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>recurrent-vision-bench leaderboard</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td.l{text-align:left}"
             "img{max-width:480px;margin:4px}</style></head><body>",
             f"<h1>Leaderboard (suite {html.escape(suite.SUITE_VERSION)})</h1>",
             "<p>Scores in percent at the label-free step budget each entry declared; "
             "'standard recipe' entries were trained with the suite's command and budget, 'free' ones any way.</p>"]
    groups = tables(board)
    if not groups:
        parts.append("<p>The leaderboard is empty.</p>")
    for (task, sets), entries in groups.items():
        header, body = rows(task, sets, entries)
        parts.append(f"<h2>{html.escape(task)} ({html.escape(sets)} sets)</h2><table><tr>")
        parts.extend(f"<th>{html.escape(h)}</th>" for h in header)
        parts.append("</tr>")
        for r in body:
            parts.append("<tr>" + "".join(
                f"<td class='l'>{html.escape(c)}</td>" if i in (1, 2, len(r) - 1) else f"<td>{html.escape(c)}</td>"
                for i, c in enumerate(r)) + "</tr>")
        parts.append("</table><div>")
        for e in entries:
            png = f"{e['task']}-{e['sets']}-{e['id']}.png"
            extrapolation_plot(e["grid"], e["train"], folder / png, title=f"{e['name']} ({e['recipe']})")
            parts.append(f"<img src='{html.escape(png)}' alt='{html.escape(e['name'])}'>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    page = folder / "index.html"
    with replacing(page) as tmp:
        tmp.write_text("\n".join(parts))
    return page
