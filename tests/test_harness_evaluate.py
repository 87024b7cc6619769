"""End to end on quick maze sets with tiny models written in tests/model_sources.py."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import model_sources as models  # noqa: E402

from benchmark import contract, suite  # noqa: E402
from benchmark.cli import main  # noqa: E402
from benchmark.evaluate import EvalConfig, evaluate  # noqa: E402
from generators.dataset import open_dataset  # noqa: E402
from benchmark import results as rs  # noqa: E402

QUICK = suite.default_test_difficulties("mazes", "quick")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for d in QUICK:
        suite.ensure(suite.data_spec("mazes", "quick", d, "test"), root)
    return root


def folders(root, ds=(9, 11)):
    return [str(suite.data_spec("mazes", "quick", d, "test").plan(root).out) for d in ds]


def expected_solved_at(folder):
    seeds = open_dataset(folder).shards
    return np.array([1 + int(seeds.sample(i, ["meta/seed"])["meta/seed"]) % 4 for i in range(len(seeds))])


def test_grid_is_complete_and_correct(tmp_path, data_root):
    path = models.write(tmp_path, "oracle", models.ORACLE.format(roots=folders(data_root)))
    res, samples = evaluate(EvalConfig(model=str(path), task="mazes", sets="quick", difficulties=[9, 11],
                                       steps=list(range(1, 17)), train_steps=2, data_root=data_root,
                                       budget_rule="fixed:2", n_boot=200, threads=1))
    rs.validate(res)
    assert res["grid"]["steps"] == list(range(1, 17))
    for row, folder in zip(res["grid"]["rows"], folders(data_root)):
        solved_at = expected_solved_at(folder)
        expected = [float(np.mean(solved_at <= t)) for t in range(1, 17)]
        assert row["mean"] == pytest.approx(expected, abs=1e-6)
        assert 0 < expected[0] < 1 and expected[3] == 1.0
        assert np.array_equal(samples[row["difficulty"]][0], (solved_at[None, :] <= np.arange(1, 17)[:, None]))
    d = res["derived"]
    assert d["in_distribution"]["steps"] == 2 and d["in_distribution"]["difficulty"] == 9
    assert d["in_distribution"]["score"] == pytest.approx(res["grid"]["rows"][0]["mean"][1])
    for o in d["oracle"]["per_difficulty"]:
        assert (o["steps"], o["score"]) == (4, 1.0)
        assert o["at_2x"] == {"steps": 8, "score": 1.0, "drop": 0.0} and o["at_4x"]["steps"] == 16
    assert [lf["steps"] for lf in d["label_free"]["per_difficulty"]] == [2, 2]
    assert [m["manifest_sha256"] for m in res["datasets"]] == \
        [suite.manifest_hash(suite.data_spec("mazes", "quick", x, "test"), data_root) for x in (9, 11)]


def test_metric_by_hand_on_a_few_samples(tmp_path, data_root):
    path = models.write(tmp_path, "rec", models.RECURRENT)
    res, samples = evaluate(EvalConfig(model=str(path), task="mazes", sets="quick", difficulties=[9],
                                       steps=[1, 3], data_root=data_root, n_boot=50, threads=1))
    model = contract.build(contract.load_source(path), suite.get("mazes").info()).eval()
    ds = open_dataset(folders(data_root, (9,))[0]).shards
    for i in (0, 5, 17):
        s = ds.sample(i, ["images", "masks"])
        x = torch.from_numpy(s["images"][None].astype(np.float32) / 255)
        for k, t in enumerate([1, 3]):
            with torch.no_grad():
                pred = model(x, t).argmax(1)[0].numpy()
            pred = pred * (s["images"].max(0) > 0)
            assert samples[9][0][k, i] == float(np.array_equal(pred, s["masks"]))


def test_single_pass_iterate_equals_per_budget_forward(tmp_path, data_root):
    common = dict(task="mazes", sets="quick", difficulties=[9, 11], steps=[1, 2, 5, 8], data_root=data_root,
                  n_boot=50, budget_rule="confidence", threads=1)
    a, sa = evaluate(EvalConfig(model=str(models.write(tmp_path, "it", models.RECURRENT)), **common))
    b, sb = evaluate(EvalConfig(model=str(models.write(tmp_path, "fw", models.RECURRENT_NO_ITERATE)), **common))
    assert a["model"]["iterate"] and not b["model"]["iterate"]
    assert a["grid"] == b["grid"]
    for d in (9, 11):
        assert np.array_equal(sa[d][0], sb[d][0])
        assert np.allclose(sa[d][1], sb[d][1], atol=1e-6)


def test_feedforward_has_one_column(tmp_path, data_root):
    res, _ = evaluate(EvalConfig(model=str(models.write(tmp_path, "ff", models.FEEDFORWARD)), task="mazes",
                                 sets="quick", difficulties=[9], data_root=data_root, n_boot=50, threads=1))
    assert res["grid"]["steps"] == [1] and res["compute"]["flops"]["per_step"] is None
    assert res["derived"]["oracle"]["per_difficulty"][0]["at_2x"] is None


def test_flops_per_step_by_hand(tmp_path, data_root):
    res, _ = evaluate(EvalConfig(model=str(models.write(tmp_path, "rec", models.RECURRENT)), task="mazes",
                                 sets="quick", difficulties=[9], steps=[1, 2], data_root=data_root, n_boot=50, threads=1))
    # one step = rec conv 8->8 3x3 + head conv 8->2 1x1 on 24x24 (2 FLOPs per multiply-add)
    per_step = 2 * 24 * 24 * (8 * 8 * 9 + 8 * 2)
    assert res["compute"]["flops"]["per_step"] == per_step
    assert res["compute"]["parameters"] == (3 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 2 + 2)


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_cli_evaluate_submit_leaderboard_round_trip(tmp_path, data_root):
    model = models.write(tmp_path, "tiny_rnn", models.RECURRENT)
    out = tmp_path / "res" / "tiny.json"
    code, text = run_cli("evaluate", model, "--task", "mazes", "--quick", "--steps", "1:4", "--train-steps", "2",
                         "--data-root", data_root, "--out", out, "--n-boot", "50", "--quiet", "--threads", "1")
    assert code == 0, text
    assert out.is_file() and out.with_suffix(".png").is_file() and (tmp_path / "res" / "tiny.samples.npz").is_file()
    res = rs.load(out)
    assert [r["difficulty"] for r in res["grid"]["rows"]] == list(QUICK)
    board = tmp_path / "board.json"
    code, text = run_cli("submit", out, "--board", board, "--data-root", data_root)
    assert code == 0, text
    assert json.loads(board.read_text())["entries"][0]["name"] == "tiny_rnn"
    code, text = run_cli("submit", out, "--board", board, "--data-root", data_root)
    assert code == 2 and "duplicate" in text and len(text.strip().splitlines()) == 1
    code, text = run_cli("leaderboard", "--board", board, "--html", tmp_path / "html")
    assert code == 0, text
    assert "mazes (quick sets" in text and "tiny_rnn" in text
    page = (tmp_path / "html" / "index.html").read_text()
    assert "tiny_rnn" in page and len(list((tmp_path / "html").glob("*.png"))) == 1


def test_cli_preflight_exit_codes(tmp_path):
    code, text = run_cli("preflight", models.write(tmp_path, "ok", models.RECURRENT), "--task", "mazes")
    assert code == 0 and "FAIL" not in text
    code, text = run_cli("preflight", models.write(tmp_path, "bad", models.IGNORES_STEPS), "--task", "mazes")
    assert code == 1 and "FAIL P06" in text
    code, text = run_cli("preflight", tmp_path / "missing.py", "--task", "mazes")
    assert code == 2 and "no such model file" in text and len(text.strip().splitlines()) == 1


@pytest.mark.parametrize("args, words", [
    (["evaluate", "missing.py", "--task", "mazes", "--quick"], "C01"),
    (["evaluate", "{nobuild}", "--task", "mazes", "--quick"], "C02"),
    (["evaluate", "{shape}", "--task", "mazes", "--quick", "--difficulties", "9"], "P02"),
    (["evaluate", "{nan}", "--task", "mazes", "--quick", "--difficulties", "9"], "P03"),
    (["evaluate", "{fixed}", "--task", "mazes", "--quick", "--difficulties", "9,11"], "P01: the model raised RuntimeError on 28x28"),
    (["evaluate", "{ok}", "--task", "mazes", "--quick", "--weights", "{badweights}"], "do not fit"),
    (["evaluate", "{ok}", "--task", "nope", "--quick"], "unknown task"),
    (["evaluate", "{ok}", "--task", "mazes", "--quick", "--steps", "0:3"], "between 1 and"),
    (["evaluate", "{ok}", "--task", "mazes", "--quick", "--difficulties", "10"], "allowed"),
    (["evaluate", "{ok}", "--task", "mazes", "--quick", "--budget-rule", "magic"], "budget rule"),
    (["evaluate", "baselines:does-not-exist", "--task", "mazes", "--quick"], "baselines:does-not-exist"),
])
def test_cli_bad_inputs_are_one_line_exit_2(tmp_path, data_root, args, words):
    files = {"nobuild": models.write(tmp_path, "nobuild", models.NO_BUILD),
             "shape": models.write(tmp_path, "shape", models.WRONG_SHAPE),
             "nan": models.write(tmp_path, "nan", models.NAN_OUTPUT),
             "fixed": models.write(tmp_path, "fixed", models.FIXED_SIZE),
             "ok": models.write(tmp_path, "ok", models.RECURRENT)}
    torch.save({"w": torch.zeros(2)}, tmp_path / "bad.pt")
    files["badweights"] = tmp_path / "bad.pt"
    args = [a.format(**files) for a in args] + ["--data-root", str(data_root), "--out", str(tmp_path / "r.json")]
    code, text = run_cli(*args)
    assert code == 2, text
    assert words in text and len(text.strip().splitlines()) == 1, text
    assert not (tmp_path / "r.json").exists()


def test_a_correct_solver_scores_100_percent_once_converged(data_root):
    """Dead-end filling (an algorithm, not learned) solves every maze given enough steps:
    an independent check of the data, the wall masking and the exact-match metric."""
    path = Path(__file__).parents[1] / "benchmark" / "examples" / "dead_end_filling.py"
    res, _ = evaluate(EvalConfig(model=str(path), task="mazes", sets="quick", difficulties=[9, 11],
                                 steps=[1, 10, 200], data_root=data_root, n_boot=50, threads=1))
    for row in res["grid"]["rows"]:
        assert row["mean"][0] == 0.0 and row["mean"][1] < 1.0 and row["mean"][2] == 1.0
    assert res["derived"]["oracle"]["per_difficulty"][0]["steps"] == 200


def test_threads_option_leaves_torch_as_it_was(tmp_path, data_root):
    before = torch.get_num_threads()
    evaluate(EvalConfig(model=str(models.write(tmp_path, "ff", models.FEEDFORWARD)), task="mazes", sets="quick",
                        difficulties=[9], data_root=data_root, n_boot=20, threads=1))
    assert torch.get_num_threads() == before


@pytest.mark.gpu
def test_cuda_evaluation_matches_cpu_and_runs_with_amp(tmp_path, data_root):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    path = Path(__file__).parents[1] / "benchmark" / "examples" / "dead_end_filling.py"
    common = dict(model=str(path), task="mazes", sets="quick", difficulties=[9, 11], steps=[1, 20, 200],
                  data_root=data_root, n_boot=50)
    cpu, _ = evaluate(EvalConfig(**common, threads=1))
    gpu, _ = evaluate(EvalConfig(**common, device="cuda", amp=False, channels_last=True))
    assert gpu["grid"]["rows"] == cpu["grid"]["rows"]
    amp, _ = evaluate(EvalConfig(**common, device="cuda"))
    assert amp["compute"]["amp"] and amp["compute"]["peak_memory_kind"] == "cuda_max_allocated"
    assert [r["mean"][-1] for r in amp["grid"]["rows"]] == [1.0, 1.0]


def test_evaluate_prints_and_plots_the_model_beside_the_board(tmp_path, data_root):
    """A private board holding the dead_end_filling entry: a new model is ranked in its table."""
    reference = Path(__file__).resolve().parents[1] / "benchmark" / "examples" / "dead_end_filling.py"
    board = tmp_path / "board.json"
    ref_out = tmp_path / "ref" / "def.json"
    code, text = run_cli("evaluate", reference, "--task", "mazes", "--quick", "--steps", "10:120:10",
                         "--data-root", data_root, "--out", ref_out, "--n-boot", "20", "--quiet", "--threads", "1",
                         "--board", tmp_path / "empty.json")
    assert code == 2 and "no such leaderboard file" in text and not ref_out.exists()
    (tmp_path / "empty.json").write_text(json.dumps({"format": "recurrent-vision-bench/leaderboard",
                                                     "format_version": 1, "entries": []}))
    code, text = run_cli("evaluate", reference, "--task", "mazes", "--quick", "--steps", "10:120:10",
                         "--data-root", data_root, "--out", ref_out, "--n-boot", "20", "--quiet", "--threads", "1",
                         "--board", tmp_path / "empty.json")
    assert code == 0, text
    assert "no entry of mazes (quick sets)" in text and not (tmp_path / "ref" / "def.board.png").exists()
    assert run_cli("submit", ref_out, "--board", board, "--data-root", data_root)[0] == 0

    out = tmp_path / "res" / "tiny.json"
    code, text = run_cli("evaluate", models.write(tmp_path, "tiny_rnn", models.RECURRENT), "--task", "mazes",
                         "--quick", "--steps", "1:4", "--train-steps", "2", "--data-root", data_root, "--out", out,
                         "--n-boot", "20", "--quiet", "--threads", "1", "--board", board)
    assert code == 0, text
    lines = text.splitlines()
    table = lines[lines.index(f"against {board}:") + 1:]
    ranked = [line.split()[1] for line in table[2:4]]
    assert ranked == ["dead_end_filling", "tiny_rnn"]           # the reference solves mazes; the tiny RNN does not
    reference_row = table[2].split()
    entry = json.loads(board.read_text())["entries"][0]
    assert reference_row[-2] == f"{100 * lb_rank(entry):.1f}"
    assert "tiny_rnn (this run)" in text
    plot = tmp_path / "res" / "tiny.board.png"
    assert plot.is_file() and str(plot) in lines


def lb_rank(entry):
    from leaderboard.board import rank_score

    return rank_score(entry)


def test_limit_scores_a_prefix_and_the_board_refuses_it(tmp_path, data_root):
    from benchmark.errors import ResultsError
    from leaderboard.board import check_data

    path = models.write(tmp_path, "oracle", models.ORACLE.format(roots=folders(data_root, QUICK)))
    res, samples = evaluate(EvalConfig(model=str(path), task="mazes", sets="quick", steps=[1, 2, 3, 4],
                                       train_steps=2, data_root=data_root, n_boot=20, threads=1, limit=7))
    assert [d["count"] for d in res["datasets"]] == [7] * len(QUICK)
    solved_at = expected_solved_at(folders(data_root, [9])[0])[:7]
    assert res["grid"]["rows"][0]["mean"] == pytest.approx([float(np.mean(solved_at <= t)) for t in range(1, 5)])
    with pytest.raises(ResultsError, match="evaluated on 7 samples, the suite has 200"):
        check_data(res, data_root)


def test_printed_lines_say_what_was_scored(tmp_path, data_root):
    model = models.write(tmp_path, "tiny_rnn", models.RECURRENT)
    (tmp_path / "board.json").write_text(json.dumps({"format": "recurrent-vision-bench/leaderboard",
                                                     "format_version": 1, "entries": []}))
    code, text = run_cli("evaluate", model, "--task", "mazes", "--quick", "--difficulties", "9,11", "--steps", "1:4",
                         "--train-steps", "6", "--budget-rule", "fixed:7", "--data-root", data_root,
                         "--out", tmp_path / "r.json", "--n-boot", "20", "--quiet", "--threads", "1",
                         "--board", tmp_path / "board.json")
    assert code == 0, text
    assert "in-distribution: not scored (the training budget, 6 steps, is not in the step grid (1, 2, 3, 4); " \
           "add it to --steps)" in text
    assert "label-free" in text and text.count("at 4 steps (the rule's 7 is not in the grid; nearest)") == 2
    res = rs.load(tmp_path / "r.json")
    assert [(r["steps"], r["rule_steps"]) for r in res["derived"]["label_free"]["per_difficulty"]] == [(4, 7), (4, 7)]
    code, text = run_cli("evaluate", model, "--task", "mazes", "--quick", "--difficulties", "11", "--steps", "1:4",
                         "--train-difficulty", "9", "--data-root", data_root, "--out", tmp_path / "s.json",
                         "--n-boot", "20", "--quiet", "--threads", "1", "--board", tmp_path / "board.json")
    assert code == 0 and "not scored (the training difficulty 9 is not among the evaluated 11)" in text
