"""map-merge front-quality benchmark family: MAP's designs vs random sampling (same and twice the
evaluations), against a brute-force 11^3 grid of real evaluations, on problems whose fronts lie in
different places:

- pretrained (front at small sums): a digits trunk pre-trained as an autoencoder (12-d code, no labels),
  frozen linear heads for three disjoint class groups ({1,4,7}, {3,5,8}, {0,2,6,9}), each task fine-tuned
  from the base for 150 steps; the base alone scores 0.88 / 0.63 / 0.94;
- scratch (front at small sums, rugged): the same tasks from a randomly initialised trunk;
- large-sums (front at sums 1.4-2.7): the pretrained problem with fine-tunes stopped after 15 steps, so
  every task keeps improving up to c_t = 1 and the good merges add most of each task vector;
- bert (transformer fine-tunes): a small `transformers.BertModel` (2 layers, hidden 32) pre-trained by
  masked LM on a synthetic topic-Markov language, then fully fine-tuned (body and head) on three synthetic
  text-classification tasks (topic, polarity, order); only the bodies are merged, each task keeps its own
  head. Offline, about 10 CPU-s to build.

Built models and the grid's real metrics are cached under --cache (default: the system temp folder's
map-merge-front-cache), keyed by the problem and this file's BUILD version.

Run: python benchmarks/map-merge-front.py [--problem pretrained|scratch|large-sums|bert|all] [--seeds 5]
     [--budget 30] [--designs adaptive,optimistic,sqrt,paper]
Prints one JSON object per problem (and, on stderr, one line per method and seed as they finish): per method, the mean over seeds of the real front's hypervolume ratio
and IGD against the grid front (MAP's front re-evaluated on the real models; random: its sampled points),
the preference picks' real score minus the best grid point's score (random picks its best sample): for
(1,1,1), the worst of (1,1,1), (2,1,1), (1,2,1), (1,1,2), and the mean over 12 random preferences; the
predicted front's hypervolume ratio (what the surrogates promise), the fraction of seeds with fit warnings
(and with the last-round check alone, the only check before 0.1.0's diagnostics), the fraction of seeds
that miss the target (HV ratio below 0.9, or IGD not below random sampling's with twice the evaluations)
and of those missed without a warning, and MAP's own CPU seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from map_merge import (
    MergeObjective,
    amortized_front,
    classification_evaluator,
    front_quality,
    grid_points,
    task_vectors,
    uniform_points,
)
from map_merge.digits import build_digits_problem

BUILD = "1"
PROBLEMS = ("pretrained", "scratch", "large-sums", "bert")
DIGIT_TASKS = ["classes_1_4_7", "classes_3_5_8", "classes_0_2_6_9"]
PREFERENCES = [[1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]
RANDOM_PREFERENCES = np.random.default_rng(123).dirichlet(np.ones(3), size=12).tolist()

VOCAB, LENGTH, CLS, MASK = 48, 16, 1, 2  # token 0 is padding (unused: every sentence has LENGTH tokens)
WORDS = np.arange(3, VOCAB)
TOPICS = np.array_split(WORDS, 3)
TEXT_TASKS = {"topic": 3, "polarity": 2, "order": 2}


def sentences(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n sentences of [CLS] + 15 words: each sentence walks its topic's words in small steps (70%) or
    draws any word (30%). Returns tokens (n, LENGTH) and topics (n,)."""
    topic = rng.integers(0, len(TOPICS), n)
    tokens = np.empty((n, LENGTH), dtype=np.int64)
    tokens[:, 0] = CLS
    for i in range(n):
        words = TOPICS[topic[i]]
        k = int(rng.integers(len(words)))
        for j in range(1, LENGTH):
            if rng.random() < 0.7:
                k = (k + int(rng.integers(1, 3))) % len(words)
                tokens[i, j] = words[k]
            else:
                tokens[i, j] = rng.choice(WORDS)
    return tokens, topic


def text_labels(tokens: np.ndarray, topic: np.ndarray, task: str) -> np.ndarray:
    """topic: the sentence's topic; polarity: more words = 0 than = 2 (mod 4); order: the first half's mean
    word id above the second half's."""
    words = tokens[:, 1:]
    if task == "topic":
        return topic.astype(np.int64)
    if task == "polarity":
        return ((words % 4 == 0).sum(axis=1) > (words % 4 == 2).sum(axis=1)).astype(np.int64)
    half = words.shape[1] // 2
    return (words[:, :half].mean(axis=1) > words[:, half:].mean(axis=1)).astype(np.int64)


class ClsHead(nn.Module):
    """A task's head on a BertModel's output: logits from the [CLS] token's last hidden state."""

    def __init__(self, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, n_classes)

    def forward(self, output: object) -> torch.Tensor:
        """Logits (N, classes) of a ``BaseModelOutput``."""
        return self.linear(output.last_hidden_state[:, 0])  # type: ignore[attr-defined]


def bert_config() -> object:
    """The small BERT: 2 layers, hidden 32, 2 heads, no dropout."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=LENGTH,
        type_vocab_size=1,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def train_bert_problem(seed: int = 0) -> dict[str, object]:
    """Pre-train by masked LM (400 steps), then fine-tune body and head per task (150 steps, Adam 1e-3):
    state dicts of the base and the fine-tuned bodies, the heads' state dicts and the test sets."""
    from transformers import BertForMaskedLM, BertModel

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    mlm = BertForMaskedLM(bert_config())
    corpus = torch.tensor(sentences(4000, rng)[0])
    optimizer = torch.optim.Adam(mlm.parameters(), lr=3e-3)
    for _ in range(400):
        batch = corpus[torch.randint(len(corpus), (64,), generator=generator)]
        mask = torch.rand(batch.shape, generator=generator) < 0.15
        mask[:, 0] = False
        loss = mlm(input_ids=batch.masked_fill(mask, MASK), labels=batch.masked_fill(~mask, -100)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    base = BertModel(bert_config(), add_pooling_layer=False)
    base.load_state_dict(mlm.bert.state_dict(), strict=False)
    bodies, heads, test = {}, {}, {}
    for task, n_classes in TEXT_TASKS.items():
        tokens, topic = sentences(1500, rng)
        x, y = torch.tensor(tokens), torch.tensor(text_labels(tokens, topic, task))
        test_tokens, test_topic = sentences(400, rng)
        test[task] = (torch.tensor(test_tokens), torch.tensor(text_labels(test_tokens, test_topic, task)))
        body, head = copy.deepcopy(base), ClsHead(32, n_classes)
        optimizer = torch.optim.Adam(list(body.parameters()) + list(head.parameters()), lr=1e-3)
        for _ in range(150):
            rows = torch.randint(len(x), (64,), generator=generator)
            loss = nn.functional.cross_entropy(head(body(x[rows])), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        bodies[task], heads[task] = body.state_dict(), head.state_dict()
    return {"base": base.state_dict(), "bodies": bodies, "heads": heads, "test": test}


def bert_objective(cache: Path) -> MergeObjective:
    """The transformer problem's merge objective, trained once and cached as a torch file."""
    from transformers import BertModel

    path = cache / f"bert-problem-{BUILD}.pt"
    if not path.exists():
        trained = train_bert_problem()
        staging = path.with_name(f".{path.name}.tmp")
        torch.save(trained, staging)
        staging.replace(path)
    trained = torch.load(path, weights_only=False)

    def body(state: dict[str, torch.Tensor]) -> nn.Module:
        model = BertModel(bert_config(), add_pooling_layer=False)
        model.load_state_dict(state)
        return model

    heads = {}
    for task, n_classes in TEXT_TASKS.items():
        heads[task] = ClsHead(32, n_classes)
        heads[task].load_state_dict(trained["heads"][task])
        heads[task].requires_grad_(False)
    base = body(trained["base"])
    vectors = task_vectors(base, {t: body(trained["bodies"][t]) for t in TEXT_TASKS})
    evaluator = classification_evaluator({t: [trained["test"][t]] for t in TEXT_TASKS}, heads=heads)
    return MergeObjective(base, vectors, evaluator)


def objective_for(problem: str, cache: Path) -> MergeObjective:
    """The merge objective of one benchmark problem (real models, real evaluations)."""
    if problem == "bert":
        return bert_objective(cache)
    pretrain = "none" if problem == "scratch" else "autoencoder"
    steps = 15 if problem == "large-sums" else 150
    built = build_digits_problem(DIGIT_TASKS, seed=0, pretrain=pretrain, width=12, finetune_steps=steps)
    vectors = task_vectors(built.base, {t: built.finetuned[i] for i, t in enumerate(DIGIT_TASKS)})
    evaluator = classification_evaluator({t: [built.test[t]] for t in DIGIT_TASKS}, heads=built.heads)
    return MergeObjective(copy.deepcopy(built.base), vectors, evaluator)


def grid_metrics(problem: str, objective: MergeObjective, cache: Path) -> np.ndarray:
    """Real metrics of the 11^3 grid, cached as .npy beside the models."""
    path = cache / f"grid-{problem}-{BUILD}.npy"
    if path.exists():
        return np.load(path)
    metrics = np.array([objective(c) for c in grid_points(3, 11)])
    staging = path.with_name(f".{path.stem}.tmp.npy")
    np.save(staging, metrics)
    staging.replace(path)
    return metrics


def pick_gaps(
    select: Callable[[list[float]], np.ndarray],
    evaluate: Callable[[np.ndarray], np.ndarray],
    truth: np.ndarray,
) -> tuple[float, float, float]:
    """Real score of the pick minus the best grid point's score (0 is best, > 0 beats the grid), for
    preference [1, 1, 1], the worst over PREFERENCES, and the mean over 12 random preferences."""
    gaps = []
    for p in PREFERENCES + RANDOM_PREFERENCES:
        unit = np.asarray(p) / np.linalg.norm(p)
        gaps.append(float(evaluate(select(p)) @ unit - (truth @ unit).max()))
    return gaps[0], min(gaps[: len(PREFERENCES)]), float(np.mean(gaps[len(PREFERENCES) :]))


def run(problem: str, seeds: int, budget: int, designs: list[str], cache: Path) -> dict[str, object]:
    """All methods on one problem, mean and per-seed numbers."""
    torch.set_num_threads(1)
    start = time.process_time()
    objective = objective_for(problem, cache)
    truth = grid_metrics(problem, objective, cache)
    grid = grid_points(3, 11)
    best_sums = grid[np.argsort(-(truth @ np.ones(3)))[:20]].sum(axis=1)
    results: dict[str, list[dict[str, float]]] = {}

    def record(name: str, real: np.ndarray, gaps: tuple[float, float, float], extra: dict) -> None:
        quality = front_quality(real, truth)
        row = {"hv_ratio": quality["hypervolume_ratio"], "igd": quality["igd"]}
        row |= {"pick_gap_111": gaps[0], "pick_gap_worst": gaps[1], "pick_gap_random_mean": gaps[2]}
        results.setdefault(name, []).append(row | extra)
        print(json.dumps({"problem": problem, "method": name} | row | extra), file=sys.stderr, flush=True)

    for seed in range(seeds):
        for n in (budget, 2 * budget):
            points = uniform_points(3, n, seed=seed)
            metrics = np.array([objective(c) for c in points])

            def best(
                p: list[float], points: np.ndarray = points, metrics: np.ndarray = metrics
            ) -> np.ndarray:
                return points[np.argmax(metrics @ (np.asarray(p) / np.linalg.norm(p)))]

            record(f"random_{n}", metrics, pick_gaps(best, objective, truth), {})
        random_igd = results[f"random_{2 * budget}"][-1]["igd"]
        for design in designs:
            t = time.process_time()
            front = amortized_front(objective, 3, budget=budget, design=design, seed=seed)
            seconds = time.process_time() - t
            real = np.array([objective(c) for c in front.coefficients])
            promised = front_quality(front.predicted, truth)["hypervolume_ratio"]
            quality = front_quality(real, truth)
            missed = quality["hypervolume_ratio"] < 0.9 or quality["igd"] >= random_igd
            round_ratio = front.diagnostics.get("last_round_error_ratio")
            extra = {
                "predicted_hv_ratio": promised,
                "warned": float(bool(front.warnings)),
                "warned_by_round_check_only": float(round_ratio is not None and round_ratio > 0.1),
                "missed_target": float(missed),
                "missed_without_warning": float(missed and not front.warnings),
                "front_heldout_error_ratio": max(
                    (row.get("front_heldout_error_ratio") or 0.0 for row in front.fit_report()), default=0.0
                ),
                "cpu_s": seconds,
            }
            record(f"map_{design}_{budget}", real, pick_gaps(front.select, objective, truth), extra)
    summary = {
        name: {key: round(float(np.mean([r[key] for r in rows])), 4) for key in rows[0]}
        for name, rows in results.items()
    }
    return {
        "problem": problem,
        "budget": budget,
        "seeds": seeds,
        "base_metrics": objective(np.zeros(3)).round(3).tolist(),
        "sums_of_the_20_best_equal_preference_grid_points": [
            round(float(best_sums.min()), 2),
            round(float(best_sums.max()), 2),
        ],
        "grid_evaluations": len(truth),
        "mean": summary,
        "per_seed": results,
        "cpu_seconds": round(time.process_time() - start, 1),
    }


def main() -> None:
    """Parse the options, run the chosen problems, print JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problem", choices=[*PROBLEMS, "all"], default="all")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 of MAP and random sampling")
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--designs", default="adaptive,sqrt,paper", help="comma-separated MAP designs")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "map-merge-front-cache")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    for problem in PROBLEMS if args.problem == "all" else [args.problem]:
        print(
            json.dumps(run(problem, args.seeds, args.budget, args.designs.split(","), args.cache), indent=1),
            flush=True,
        )


if __name__ == "__main__":
    main()
