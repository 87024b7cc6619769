"""Every baseline preset in one device call, and the bundled checkpoints they continue from.

``run``: the data of every preset is generated once (all cores), then every preset trains at
the same time on the one GPU (one process each, the CPU cores shared out), training stops at
a wall-clock time that leaves room to evaluate, and each run (checkpoint, weights, log,
results, plot, card) is packed into ``OUT/<preset>.tar.gz`` beside one ``summary.json``.
A preset with bundled weights in ``baselines/checkpoints/<preset>/`` continues from them,
and its card adds this call to the cumulative record.

``unpack``: the archives of a call become the bundled checkpoints (weights, in bfloat16
where float32 would pass the size limit, with card and results), ready to commit.

    bash baselines/recipes/device_all.sh                          # on the GPU machine
    python -m baselines.recipes.device_all run --smoke --out X    # the same path on CPU, tiny
    python -m baselines.recipes.device_all unpack X               # X/*.tar.gz -> baselines/checkpoints/
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from benchmark.contract import file_sha256

from . import gpu

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
RUN_FILES = ("model.pt", "card.json", "log.jsonl", "results.json", "results.png", "results.samples.npz",
             "stdout.log", "checkpoint.pt")
# What comes back from one device call: 8 files, 64 MiB together; keep a margin.
ARCHIVE_BUDGET = 60 << 20
BUNDLE_LIMIT = 5 << 20            # a committed weights file stays under this


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="data, parallel training, evaluation, archives")
    r.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/device")))
    r.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rvb-device")
    r.add_argument("--minutes", type=float, default=8.0, help="the whole call, data and archives included")
    r.add_argument("--eval-minutes", type=float, default=1.5, help="kept free at the end for evaluation")
    r.add_argument("--presets", default=",".join(gpu.PRESETS), help="comma list (default: all)")
    r.add_argument("--checkpoints", type=Path, default=CHECKPOINTS, help="bundled checkpoints to continue from")
    r.add_argument("--device", default="auto")
    r.add_argument("--smoke", action="store_true", help="tiny CPU run of the same path for every preset")
    u = sub.add_parser("unpack", help="archives of a call -> bundled checkpoints")
    u.add_argument("archives", type=Path)
    u.add_argument("--checkpoints", type=Path, default=CHECKPOINTS)
    args = p.parse_args(argv)
    if args.command == "unpack":
        for line in unpack(args.archives, args.checkpoints):
            print(line)
        return 0
    names = [n for n in args.presets.split(",") if n]
    unknown = [n for n in names if n not in gpu.PRESETS]
    if unknown:
        p.error(f"unknown preset {', '.join(unknown)}; known: {', '.join(gpu.PRESETS)}")
    summary = run_all(names, args.out, args.work, args.minutes, args.eval_minutes, args.checkpoints,
                      args.device, args.smoke)
    print(json.dumps(summary, indent=1))
    return 0 if all(s["status"] == "ok" for s in summary["presets"].values()) else 1


def run_all(names, out, work, minutes, eval_minutes, checkpoints, device="auto", smoke=False):
    """The whole call; returns the summary (also written to ``out/summary.json``)."""
    t0 = time.time()
    deadline = t0 + 60 * minutes
    out, work = Path(out), Path(work)
    out.mkdir(parents=True, exist_ok=True)
    data_root = work / "data"
    status = {name: {"status": "pending"} for name in names}
    ready = [name for name in names if _prepare(name, work, data_root, device, smoke, status[name])]
    data_seconds = time.time() - t0
    stop_at = deadline - 60 * eval_minutes - _pack_seconds(len(names))
    procs = _launch(ready, work, data_root, stop_at, checkpoints, device, smoke)
    _wait(procs, deadline - _pack_seconds(len(names)), status)
    _pack(names, work, out, status)
    summary = {"minutes": minutes, "data_seconds": round(data_seconds, 1),
               "train_stop_after_seconds": round(stop_at - t0, 1), "wall_seconds": round(time.time() - t0, 1),
               "smoke": smoke, "presets": status}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _prepare(name, work, data_root, device, smoke, status):
    """Generate a preset's data before any training starts; False (and why) when it cannot."""
    from benchmark.training.loop import prepare

    t = time.time()
    try:
        prepare(gpu.preset_config(name, work / name, data_root, smoke=smoke, device=device))
    except Exception as exc:   # one preset's missing data (e.g. no MNIST files) must not stop the others
        status.update(status="skipped", reason=f"{type(exc).__name__}: {exc}")
        print(f"{name}: skipped ({status['reason']})", file=sys.stderr, flush=True)
        return False
    status["data_seconds"] = round(time.time() - t, 1)
    return True


def _pack_seconds(n):
    return 5 + 3 * n


def _launch(names, work, data_root, stop_at, checkpoints, device, smoke):
    """One training process per preset, the CPU cores shared out between them."""
    cores = os.cpu_count() or 1
    share = max(1, cores // max(1, len(names)))
    procs = {}
    for name in names:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "baselines.recipes.gpu", name, "--out", str(folder),
               "--data-root", str(data_root), "--stop-at", f"{stop_at:.3f}", "--concurrent", str(len(names)),
               "--num-workers", str(0 if smoke else max(1, share - 1)), "--device", device]
        bundled = Path(checkpoints) / name
        if (bundled / "model.pt").is_file():
            cmd += ["--init-weights", str(bundled / "model.pt")]
            if (bundled / "card.json").is_file():
                cmd += ["--previous-card", str(bundled / "card.json")]
        if smoke:
            cmd.append("--smoke")
        env = {**os.environ, "OMP_NUM_THREADS": str(share), "PYTHONUNBUFFERED": "1"}
        log = open(folder / "stdout.log", "w")
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log, time.time())
    return procs


def _wait(procs, hard_stop, status):
    """Wait for every process; any still running at ``hard_stop`` is stopped (and said so)."""
    while any(p.poll() is None for p, _, _ in procs.values()) and time.time() < hard_stop:
        time.sleep(1)
    for name, (proc, log, started) in procs.items():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            status[name].update(status="stopped", reason="still running at the call's end; stopped")
        else:
            status[name]["status"] = "ok" if proc.returncode == 0 else "failed"
        status[name].update(returncode=proc.returncode, seconds=round(time.time() - started, 1))
        log.close()


def _pack(names, work, out, status):
    """``out/<preset>.tar.gz`` per run; checkpoints are left out, largest first, past the budget."""
    sizes = {}
    for name in names:
        if (work / name).is_dir():
            sizes[name] = _archive(name, work / name, out, omit=())
    total = sum(sizes.values())
    for name in sorted(sizes, key=sizes.get, reverse=True):
        if total <= ARCHIVE_BUDGET:
            break
        if (work / name / "checkpoint.pt").is_file():
            total -= sizes[name]
            sizes[name] = _archive(name, work / name, out, omit=("checkpoint.pt",))
            total += sizes[name]
            status[name]["omitted"] = ["checkpoint.pt"]
    for name, size in sizes.items():
        archive = out / f"{name}.tar.gz"
        status[name].update(archive=archive.name, bytes=size, sha256=file_sha256(archive))
        card = work / name / "card.json"
        if card.is_file():
            content = json.loads(card.read_text())
            status[name].update(cumulative=content["cumulative"], scores=_scores(content.get("derived")))


def _archive(name, folder, out, omit):
    archive = out / f"{name}.tar.gz"
    tmp = archive.with_name(archive.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for file in RUN_FILES:
            if file not in omit and (folder / file).is_file():
                tar.add(folder / file, arcname=f"{name}/{file}")
    tmp.replace(archive)
    return archive.stat().st_size


def _scores(derived):
    """In-distribution score and label-free score per difficulty, for the summary."""
    if not derived:
        return None
    return {"in_distribution": (derived.get("in_distribution") or {}).get("score"),
            "label_free": {str(r["difficulty"]): r["score"] for r in derived["label_free"]["per_difficulty"]}}


def unpack(archives, checkpoints=CHECKPOINTS):
    """Each ``<preset>.tar.gz`` in ``archives`` -> ``checkpoints/<preset>/`` (weights, card, results)."""
    import torch

    lines = []
    for archive in sorted(Path(archives).glob("*.tar.gz")):
        name = archive.name[:-len(".tar.gz")]
        if name not in gpu.PRESETS:
            continue
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
            run = Path(tmp) / name
            if not (run / "model.pt").is_file():
                lines.append(f"{archive}: no weights inside; skipped")
                continue
            dest = Path(checkpoints) / name
            staging = dest.with_name(dest.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            dtype = _bundle_weights(torch, run / "model.pt", staging / "model.pt")
            card = json.loads((run / "card.json").read_text())
            card["bundled_weights"] = {"file": "model.pt", "dtype": dtype, "sha256": file_sha256(staging / "model.pt"),
                                       "trained_weights_sha256": file_sha256(run / "model.pt")}
            (staging / "card.json").write_text(json.dumps(card, indent=1, default=str))
            for file in ("results.json", "results.png"):
                if (run / file).is_file():
                    shutil.copy2(run / file, staging / file)
            shutil.rmtree(dest, ignore_errors=True)
            staging.replace(dest)
            lines.append(f"{dest}: weights {dtype} ({(dest / 'model.pt').stat().st_size:,} bytes), "
                         f"{card['cumulative']['calls']} calls, {card['cumulative']['samples_seen']:,} samples seen")
    return lines


def _bundle_weights(torch, source, dest):
    """Copy a state dict; floating tensors go to bfloat16 when float32 would pass the limit."""
    state = torch.load(source, map_location="cpu", weights_only=True)
    if source.stat().st_size <= BUNDLE_LIMIT:
        shutil.copy2(source, dest)
        return "float32"
    small = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in state.items()}
    torch.save(small, dest)
    return "bfloat16"


if __name__ == "__main__":
    sys.exit(main())
