import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import model_sources as models  # noqa: E402

from benchmark import contract, taskinfo  # noqa: E402
from benchmark.errors import ContractError  # noqa: E402
from benchmark.preflight import preflight  # noqa: E402

TASK = taskinfo.mazes(9, steps=4)


def failed(checks):
    return {c.rule: c.message for c in checks if not c.ok}


@pytest.mark.parametrize("name", ["FEEDFORWARD", "RECURRENT"])
def test_good_models_pass_every_rule(tmp_path, name):
    checks = preflight(models.write(tmp_path, name.lower(), getattr(models, name)), TASK)
    assert not failed(checks), failed(checks)
    rules = {c.rule for c in checks}
    assert {"C01", "C02", "C03", "P02", "P03", "P04", "P05", "P06"} <= rules
    if name == "RECURRENT":
        assert "P07" in rules


@pytest.mark.parametrize("name, rule, words", [
    ("NO_BUILD", "C02", "build_model"),
    ("BROKEN_IMPORT", "C01", "boom at import"),
    ("WRONG_SHAPE", "P02", "expected [2, 2, 24, 24]"),
    ("NAN_OUTPUT", "P03", "NaN"),
    ("RANDOM_EVAL", "P04", "differ"),
    ("IGNORES_STEPS", "P06", "ignores steps"),
    ("BAD_ITERATE", "P07", "differs from forward"),
])
def test_bad_models_fail_with_rule_and_expectation(tmp_path, name, rule, words):
    checks = preflight(models.write(tmp_path, name.lower(), getattr(models, name)), TASK)
    bad = failed(checks)
    assert rule in bad, [c.line() for c in checks]
    assert words in bad[rule]
    assert all("\n" not in c.line() for c in checks)


def test_missing_file_is_c01(tmp_path):
    with pytest.raises(ContractError, match="C01: .*no such model file"):
        contract.load_source(tmp_path / "nope.py")


def test_weights_round_trip_and_mismatch(tmp_path):
    source = contract.load_source(models.write(tmp_path, "rec", models.RECURRENT))
    model = contract.build(source, TASK)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    torch.save(model.state_dict(), tmp_path / "w.pt")
    fresh = contract.build(source, TASK)
    contract.load_weights(fresh, tmp_path / "w.pt")
    x = torch.rand(1, 3, 24, 24)
    assert torch.equal(fresh(x, 3), model(x, 3))
    other = contract.build(contract.load_source(models.write(tmp_path, "ff", models.FEEDFORWARD)), TASK)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    with pytest.raises(ContractError, match="C04: .*do not fit the model .*missing"):
        contract.load_weights(fresh, tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ContractError, match="C04: .*weights_only=True"):
        contract.load_weights(fresh, tmp_path / "junk.pt")


def test_weights_only_refuses_pickled_code(tmp_path):
    source = contract.load_source(models.write(tmp_path, "rec", models.RECURRENT))
    model = contract.build(source, TASK)
    torch.save({"state_dict": model.state_dict(), "evil": Path("x")}, tmp_path / "pickle.pt")
    with pytest.raises(ContractError, match="C04"):
        contract.load_weights(model, tmp_path / "pickle.pt")


def test_iterate_budgets_equal_forward(tmp_path):
    model = contract.build(contract.load_source(models.write(tmp_path, "rec", models.RECURRENT)), TASK).eval()
    x = torch.rand(2, 3, 24, 24)
    with torch.no_grad():
        got = dict(contract.budgets_outputs(model, x, [1, 3, 5]))
        assert sorted(got) == [1, 3, 5]
        for t, out in got.items():
            assert torch.allclose(out, model(x, t), atol=1e-6)


def test_feedforward_gives_one_column(tmp_path):
    model = contract.build(contract.load_source(models.write(tmp_path, "ff", models.FEEDFORWARD)), TASK).eval()
    with torch.no_grad():
        got = list(contract.budgets_outputs(model, torch.rand(1, 3, 24, 24), [1, 2, 3]))
    assert [t for t, _ in got] == [1]


def test_unknown_baseline_is_one_line():
    with pytest.raises(ContractError, match=r"C0[12]: baselines:surely-not-a-model"):
        contract.load_source("baselines:surely-not-a-model")


def test_baselines_resolve_through_the_same_path():
    import importlib.util

    if importlib.util.find_spec("baselines") is None:
        pytest.skip("no baselines package")
    import baselines

    if not hasattr(baselines, "get") or "convgru" not in baselines.names():
        pytest.skip("baselines registry without convgru")
    source = contract.load_source("baselines:convgru")
    assert source.builder is baselines.get("convgru") and len(source.sha256) == 64
    model = contract.build(source, TASK)
    assert isinstance(model, torch.nn.Module)


def test_the_package_declares_the_baselines_registry_as_an_entry_point():
    import importlib.metadata

    entries = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=contract.REGISTRY_GROUP)}
    assert entries.get(contract.BASELINES) == "baselines"


def test_a_registry_registered_at_run_time_resolves_its_names(monkeypatch):
    class Zoo:
        @staticmethod
        def names():
            return ["tiny"]

        @staticmethod
        def get(name):
            if name != "tiny":
                raise KeyError(f"unknown zoo model {name!r}; available: tiny")
            return tiny

    def tiny(task):
        return torch.nn.Conv2d(task.in_channels, 2, 1)

    monkeypatch.setitem(contract._REGISTERED, "zoo", Zoo)
    source = contract.load_source("zoo:tiny")
    assert source.builder is tiny and source.name == "tiny" and source.path == Path(__file__)
    assert contract.named_models("zoo") == ["tiny"]
    with pytest.raises(ContractError, match=r"^C01: zoo:big: unknown zoo model 'big'"):
        contract.load_source("zoo:big")
    monkeypatch.delitem(contract._REGISTERED, "zoo")
    assert contract.named_models("zoo") == []
    with pytest.raises(ContractError, match=r"C01: zoo:tiny: no such model file"):
        contract.load_source("zoo:tiny")


def preflight_with_trace(tmp_path, trace):
    """Preflight of the recurrent test model given ``trace`` (the source of a function)."""
    path = tmp_path / "traced.py"
    path.write_text(models.RECURRENT + f"""

_build = build_model


{trace}


def build_model(task):
    model = _build(task)
    model.trace = _trace
    return model
""")
    return {c.rule: c for c in preflight(path, TASK)}


@pytest.mark.parametrize("trace, ok", [
    ("return [{'h': x[:, :1] * t} for t in range(steps)]", True),
    ("return {'h': x}", False),                                   # not one dict per step
    ("return [{'h': x[0]} for t in range(steps)]", False),        # no batch dimension
])
def test_preflight_checks_the_optional_trace(tmp_path, trace, ok):
    checks = preflight_with_trace(tmp_path, f"def _trace(x, steps):\n    {trace}")
    assert "P08" in checks and checks["P08"].ok == ok, checks.get("P08")


@pytest.mark.parametrize("uses_inject, ok", [(True, True), (False, False)])
def test_preflight_checks_that_inject_replaces_the_feedback(tmp_path, uses_inject, ok):
    checks = preflight_with_trace(tmp_path, f"""def _trace(x, steps, inject=None):
    inject = (inject or {{}}) if {uses_inject} else {{}}
    h = x[:, :1]
    return [{{"feedback": [inject.get((0, t), h * t)], "logits": h.flatten(1)[:, :2]}} for t in range(steps)]""")
    assert checks["P08"].ok and checks["P09"].ok == ok, checks.get("P09")
