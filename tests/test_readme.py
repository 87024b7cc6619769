"""The README stays true: its Python snippets run, and every file it names exists.

Snippets run in order in one namespace, in a folder holding what they read
(``data/mazes/9/train``, small fake MNIST / Fashion-MNIST sources), with ``model`` (a
recurrent baseline) and ``x`` (a batch of its inputs) defined, as the README's text says
they are.
"""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from generators import engine
from generators.clutter import sources
from tests.conftest import maze_plan
from test_sources import use_fake_sources

README = Path(__file__).resolve().parents[1] / "README.md"
# Paths of repository files as the README names them: `folder/.../name.ext`.
FILE_PATH = re.compile(r"`((?:generators|benchmark|baselines|leaderboard|perf|tests|docs)/[\w./-]+\.\w+)`")


def python_snippets(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_snippets_to_check():
    snippets = python_snippets(README.read_text())
    assert len(snippets) >= 3
    assert any("generators.clutter.stream" in s for s in snippets)


def test_every_file_the_readme_and_docs_name_exists():
    pages = [README] + sorted((README.parent / "docs").glob("*.md"))
    for page in pages:
        named = sorted(set(FILE_PATH.findall(page.read_text())))
        missing = [p for p in named if not (README.parent / p).exists()]
        assert not missing, f"{page.name} names files that do not exist: {missing}"
    links = re.findall(r"\]\((docs/[^)#]+)", README.read_text())
    assert links and all((README.parent / link).exists() for link in links), links


@pytest.fixture
def readme_world(tmp_path, monkeypatch):
    plan = maze_plan(tmp_path / "data" / "mazes" / "9" / "train", size=9, count=200, shard_size=100)
    engine.run(plan, workers=1)
    use_fake_sources(monkeypatch, tmp_path / "sources")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sources._LOADED.clear()


def test_readme_python_snippets_run(readme_world):
    import baselines
    from benchmark import taskinfo

    torch.manual_seed(0)
    namespace = {"model": baselines.get("convgru")(taskinfo.mazes(9)), "x": torch.rand(2, 3, 24, 24)}
    for snippet in python_snippets(README.read_text()):
        exec(compile(snippet, str(README), "exec"), namespace)
    # What the snippets promise, checked on what they computed.
    assert np.array_equal(namespace["sample"]["images"], namespace["again"]["images"][0])
    assert namespace["d"].shape == (2,) and namespace["s"].shape == (2,)
