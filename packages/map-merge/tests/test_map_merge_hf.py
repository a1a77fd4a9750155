"""Real transformers models without a hub: a tiny BERT built from a config, fine-tuned on two synthetic
tasks, saved with save_pretrained, loaded back from the folders, merged through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from map_merge import task_vectors  # noqa: E402
from map_merge.cli import main  # noqa: E402

TASK_DATA = """
import torch

def batch(task, n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 40, (n, 8), generator=g)
    labels = (ids == 7).any(dim=1).long() if task == "has_7" else (ids[:, 0] % 2).long()
    ids[: n // 4, 1] = 7
    labels = (ids == 7).any(dim=1).long() if task == "has_7" else labels
    return ids, labels

def evaluate(model):
    out = {}
    for task in ("has_7", "first_even"):
        ids, labels = batch(task, seed=1)
        logits = model(input_ids=ids).logits
        out[task] = float((logits.argmax(-1) == labels).float().mean())
    return out
"""


def tiny_bert():
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config)


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    (root / "hf_tasks.py").write_text(textwrap.dedent(TASK_DATA))
    import importlib.util

    spec = importlib.util.spec_from_file_location("hf_tasks_fixture", root / "hf_tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    base = tiny_bert()
    base.save_pretrained(root / "base")
    folders = {"root": root, "base": root / "base"}
    for task in ("has_7", "first_even"):
        model = transformers.BertForSequenceClassification.from_pretrained(
            root / "base", local_files_only=True
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        ids, labels = module.batch(task)
        for _ in range(15):
            optimizer.zero_grad()
            model(input_ids=ids, labels=labels).loss.backward()
            optimizer.step()
        model.save_pretrained(root / task)
        folders[task] = root / task
    return folders


def test_task_vectors_from_local_folders(model_folders) -> None:
    tv = task_vectors(model_folders["base"], {t: model_folders[t] for t in ("has_7", "first_even")})
    assert tv.n_tasks == 2 and bool(torch.all(tv.norms() > 0))
    merged = transformers.BertForSequenceClassification.from_pretrained(
        model_folders["base"], local_files_only=True
    )
    tv.load_into(merged, [1.0, 0.0])
    fine = transformers.BertForSequenceClassification.from_pretrained(
        model_folders["has_7"], local_files_only=True
    )
    for key, value in fine.state_dict().items():
        torch.testing.assert_close(merged.state_dict()[key], value)


def test_cli_front_pick_plot_end_to_end(model_folders, tmp_path, capsys) -> None:
    root = model_folders["root"]
    config = {  # the evaluator module sits beside the config: no PYTHONPATH needed
        "base": "base",
        "models": {"has_7": "has_7", "first_even": "first_even"},
        "evaluator": "hf_tasks:evaluate",
        "maximize": True,
    }
    (root / "run.json").write_text(json.dumps(config))
    out = tmp_path / "run"
    assert main(["front", str(root / "run.json"), "--out", str(out)]) == 0
    front = json.loads((out / "front.json").read_text())
    assert front["n_evaluations"] == 12 and len(front["coefficients"]) > 0
    lines = (out / "evaluations.jsonl").read_text().splitlines()
    assert len(lines) == 13 and "context" in json.loads(lines[0])  # header + 12 evaluations
    assert (out / "front.png").stat().st_size > 0

    pick = ["pick", "--front", str(out / "front.json"), "--preference", "1", "1", "--out"]
    assert main([*pick, str(tmp_path / "merged"), "--reevaluate"]) == 2
    assert "--reevaluate needs --config" in capsys.readouterr().err
    assert not (tmp_path / "merged").exists()
    assert main([*pick, str(tmp_path / "merged"), "--reevaluate", "--config", str(root / "run.json")]) == 0
    pick_result = json.loads((tmp_path / "merged" / "pick.json").read_text())
    assert set(pick_result["real"]) == {"has_7", "first_even"}
    merged = transformers.BertForSequenceClassification.from_pretrained(
        tmp_path / "merged", local_files_only=True
    )
    expected = task_vectors(
        model_folders["base"], [model_folders["has_7"], model_folders["first_even"]]
    ).merged_state_dict(pick_result["coefficients"])
    for key, value in merged.state_dict().items():
        torch.testing.assert_close(value, expected[key])

    assert main(["plot", "--front", str(out / "front.json"), "--out", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "front.png").is_file()

    # the same folder with another model set: the cache is refused, nothing is reused
    swapped = config | {"models": {"has_7": "first_even", "first_even": "has_7"}}
    (root / "swapped.json").write_text(json.dumps(swapped))
    before = (out / "front.json").read_bytes()
    assert main(["front", str(root / "swapped.json"), "--out", str(out), "--resume"]) == 2
    assert "holds evaluations of another run" in capsys.readouterr().err
    assert (out / "front.json").read_bytes() == before


def test_cli_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["front", str(tmp_path / "missing.yaml"), "--out", str(tmp_path)]) == 2
    assert "config file not found" in capsys.readouterr().err
    (tmp_path / "c.json").write_text(json.dumps({"base": ".", "models": {"a": "."}, "evaluator": "x:y"}))
    assert main(["front", str(tmp_path / "c.json"), "--out", str(tmp_path)]) == 2
    assert "at least two task names" in capsys.readouterr().err
