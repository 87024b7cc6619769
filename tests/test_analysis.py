"""`bench analyze stability` and `predictions` against known answers."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark import suite
from benchmark.analysis import stability
from benchmark.evaluate import EvalConfig, evaluate
from tests.conftest import bench as run_cli

EXAMPLES = Path(__file__).resolve().parents[1] / "benchmark" / "examples"

LINEAR = """
import torch


class Linear(torch.nn.Module):
    \"\"\"h' = a h + b with b = the image's channel means: J = a I, h_t = b (1 - a^t) / (1 - a).\"\"\"
    train_steps = 5

    def __init__(self, a):
        super().__init__()
        self.a = a
        self.head = torch.nn.Conv2d(3, 2, 1)

    def encode(self, x):
        return x.mean(dim=(2, 3))

    def init_state(self, drive, x):
        return torch.zeros_like(drive)

    def step(self, drive, state, t):
        return self.a * state + drive

    def readout(self, state, x):
        return self.head(x * state[:, :, None, None])

    def forward(self, x, steps):
        drive = self.encode(x)
        state = self.init_state(drive, x)
        for t in range(steps):
            state = self.step(drive, state, t)
        return self.readout(state, x)


def build_model(task):
    return Linear({a})
"""


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    suite.ensure(suite.data_spec("mazes", "quick", 9, "test"), root)
    return root


@pytest.mark.parametrize("a", [0.5, 0.9, 1.2])
def test_a_linear_step_gives_its_known_numbers(a):
    ns = {}
    exec(LINEAR.format(a=a), ns)
    model = ns["build_model"](None)
    x = torch.rand(5, 3, 8, 8)
    n, horizon = 5, 40
    got = stability.report(model, x, n, horizon, tolerance=1e-3)
    b = x.mean(dim=(2, 3)).double().norm(dim=1)
    assert torch.allclose(got["jacobian_norm"].double(), torch.full((5,), a, dtype=torch.float64), atol=1e-4)
    expected = b * abs(a ** horizon - a ** n) / abs(1 - a)
    assert torch.allclose(got["distance"].double(), expected, rtol=1e-4)
    t = torch.arange(1, horizon + 1, dtype=torch.float64)
    assert torch.allclose(got["step_sizes"].double(), b[None, :] * a ** (t[:, None] - 1), rtol=1e-4, atol=1e-6)
    assert bool(got["converged"].all()) == (a < 1 and a ** horizon < 1e-4)


def test_stability_command_writes_a_valid_report_and_plot(tmp_path, data_root):
    model = tmp_path / "linear.py"
    model.write_text(LINEAR.format(a=1.2))
    code, out = run_cli("analyze", "stability", model, "--task", "mazes", "--quick", "-n", 6, "--horizon", 30,
                        "--data-root", data_root, "--out", tmp_path / "s.json")
    assert code == 0, out
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["summary"]["converged_share"] == 0.0 and "converged 0%" in out     # a = 1.2 diverges
    assert report["summary"]["jacobian_norm"]["median"] == pytest.approx(1.2, abs=1e-4)
    assert report["trained_steps"] == 5 and len(report["step_sizes"]["median"]) == 30
    assert report["data"]["key"] == "quick/mazes/9/test" and len(report["per_image"]["distance"]) == 6
    assert Image.open(tmp_path / "s.png").size[0] > 500


def test_predictions_match_the_harness_per_sample_scores(tmp_path, data_root):
    reference = EXAMPLES / "dead_end_filling.py"
    code, out = run_cli("analyze", "predictions", reference, "--task", "mazes", "--quick", "-n", 5,
                        "--steps", "5:40:5", "--data-root", data_root, "--out", tmp_path / "p.json")
    assert code == 0, out
    report = json.loads((tmp_path / "p.json").read_text())
    steps = [b["steps"] for b in report["budgets"]]
    assert steps == list(range(5, 41, 5))
    _, samples = evaluate(EvalConfig(model=str(reference), task="mazes", sets="quick", difficulties=[9], steps=steps,
                                     data_root=data_root, n_boot=20, threads=1))
    harness = samples[9][0][:, :5]                       # [steps, first 5 images]
    assert np.array_equal(np.array([b["score"] for b in report["budgets"]]), harness)
    assert 0 < harness.sum() < harness.size              # some solved late, some early: the picture shows it
    width, height = Image.open(tmp_path / "p.png").size
    assert width > height                                # 9 columns, 5 rows


def test_bad_input_is_one_line_exit_2(tmp_path, data_root):
    cases = [
        (["analyze", "stability", EXAMPLES / "tiny_cnn.py", "--task", "mazes", "--quick", "-n", 2],
         "needs the model's step function"),
        (["analyze", "predictions", EXAMPLES / "dead_end_filling.py", "--task", "mazes", "--quick", "-n", 500],
         "-n 500: the quick/mazes/9/test set has 200 images"),
        (["analyze", "predictions", EXAMPLES / "dead_end_filling.py", "--task", "mazes", "--quick", "--difficulty", 8],
         "has no standard test set at difficulty 8"),
        (["analyze", "stability", tmp_path / "missing.py", "--task", "mazes", "--quick"], "no such model file"),
    ]
    for args, words in cases:
        code, out = run_cli(*args, "--data-root", data_root, "--out", tmp_path / "x.json")
        assert code == 2 and words in out and len(out.strip().splitlines()) == 1, (args, out)
    assert not (tmp_path / "x.json").exists()


TRACED = """
import torch


class Traced(torch.nn.Module):
    \"\"\"Step 1 records noise; step 2 records the start marker (green, not red) pixel by pixel.\"\"\"
    recurrent = True
    train_steps = 2

    def forward(self, x, steps):
        return torch.zeros(x.shape[0], 2, x.shape[2], x.shape[3])

    def trace(self, x, steps):
        noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], generator=torch.Generator().manual_seed(0))
        marker = x[:, 1:2] * (1 - x[:, 0:1])
        return [{"layer": noise}, {"layer": marker}][:steps]


def build_model(task):
    return Traced()
"""


def test_decoding_finds_what_a_layer_encodes_and_nothing_in_noise(tmp_path, data_root):
    model = tmp_path / "traced.py"
    model.write_text(TRACED)
    code, out = run_cli("analyze", "decode", model, "--task", "mazes", "--quick", "--split", "150:50", "--repeats", 4,
                        "--data-root", data_root, "--out", tmp_path / "d.json")
    assert code == 0, out
    report = json.loads((tmp_path / "d.json").read_text())
    rows = {(r["variable"], r["step"]): r for r in report["rows"]}
    assert set(report["variables"]) == {"path_length", "start_row", "start_column"}
    for where in ("start_row", "start_column"):
        assert rows[(where, 2)]["accuracy"] >= 0.95                      # linearly encoded at step 2
        assert rows[(where, 1)]["accuracy"] <= rows[(where, 1)]["chance"] + 0.12   # noise at step 1
        assert rows[(where, 2)]["permutation"] <= rows[(where, 2)]["chance"] + 0.12
    for step in (1, 2):                         # path length is in neither layer: chance
        assert rows[("path_length", step)]["accuracy"] <= rows[("path_length", step)]["chance"] + 0.12
    assert Image.open(tmp_path / "d.png").size[0] > 500
    assert report["layers"] == {"layer": 24 * 24}


def test_decoding_bad_input_is_one_line_exit_2(tmp_path, data_root):
    cases = [
        (["analyze", "decode", EXAMPLES / "tiny_cnn.py", "--task", "mazes", "--quick", "--split", "20:10"],
         "decoding needs per-step activations"),
        (["analyze", "decode", EXAMPLES / "dead_end_filling.py", "--task", "mazes", "--quick"],
         "-n 1000: the quick/mazes/9/test set has 200 images"),
        (["analyze", "decode", EXAMPLES / "dead_end_filling.py", "--task", "mazes", "--quick", "--split", "a:b"],
         "is not TRAIN:TEST"),
    ]
    for args, words in cases:
        code, out = run_cli(*args, "--data-root", data_root, "--out", tmp_path / "x.json")
        assert code == 2 and words in out and len(out.strip().splitlines()) == 1, (args, out)
    assert not (tmp_path / "x.json").exists()


def test_decoding_names_the_recurrent_inputs_a_trace_gives(tmp_path, data_root):
    model = tmp_path / "inputs.py"
    model.write_text(TRACED.replace('return [{"layer": noise}, {"layer": marker}][:steps]',
                                    'return [{"layer": noise, "feedback": [noise]}, '
                                    '{"layer": noise, "feedback": [marker]}][:steps]'))
    code, out = run_cli("analyze", "decode", model, "--task", "mazes", "--quick", "--split", "150:50", "--repeats", 2,
                        "--data-root", data_root, "--out", tmp_path / "d.json")
    assert code == 0, out
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["recurrent_input_layers"] == ["feedback0"]
    rows = {(r["layer"], r["variable"], r["step"]): r["accuracy"] for r in report["rows"]}
    assert rows[("feedback0", "start_row", 2)] >= 0.95 and rows[("layer", "start_row", 2)] < 0.8
    assert "from recurrent inputs alone: " in out


def test_decoding_rows_do_not_depend_on_the_number_of_threads():
    from benchmark.analysis.decoding import decode

    rng = np.random.default_rng(1)
    labels = {"a": rng.integers(0, 2, 120), "b": rng.integers(0, 2, 120)}
    recorded = [{"h": rng.normal(size=(120, 16)) + 4 * labels["a"][:, None] * s} for s in range(2)]
    one, two = decode(recorded, labels, 80, 40, 3, seed=5, jobs=1), decode(recorded, labels, 80, 40, 3, seed=5, jobs=2)
    assert one == two and [(r["variable"], r["step"]) for r in one] == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert one[1]["accuracy"] > 0.9 > one[0]["accuracy"]
