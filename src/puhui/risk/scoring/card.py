"""The model card (模型卡): what a model was trained on and how well it did, as JSON, Markdown and plots.

All figures are cross-validated (out-of-fold), never measured on the rows a model was fitted on.
Plots (ROC, KS curve, score distribution of goods and bads) are PNG files drawn with matplotlib's
Agg backend, so they need no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from puhui import clock
from puhui.risk.scoring.data import Dataset
from puhui.risk.scoring.evaluate import METRICS, Evaluation
from puhui.risk.scoring.scorecard import BASE_SCORE, PDO, SCORE_MAX, SCORE_MIN

PLOTS = ("roc.png", "ks.png", "score_distribution.png")


def build_card(data: Dataset, kind: str, evaluation: Evaluation, model: Any, seed: int) -> dict[str, Any]:
    card: dict[str, Any] = {
        "kind": kind,
        "trained_at": clock.now().isoformat(),
        "data": {"source": data.source, "rows": data.rows, "label": data.label, "bad_rate": round(data.bad_rate, 4)},
        "features": data.schema.as_json(),
        "features_used": list(model.features),
        "scaling": {
            "range": [SCORE_MIN, SCORE_MAX],
            "score_at_even_odds": BASE_SCORE,
            "points_to_double_odds": PDO,
            "higher_is": "lower risk",
        },
        "validation": {
            "method": "stratified k-fold cross-validation, everything fitted inside each training fold",
            "seed": seed,
            **evaluation.summary(),
        },
    }
    if kind == "scorecard":
        card["scorecard"] = model.table()
    return card


def metrics_of(evaluation: Evaluation) -> dict[str, Any]:
    return {m: {"mean": round(evaluation.mean(m), 4), "std": round(evaluation.std(m), 4)} for m in METRICS}


def markdown(card: dict[str, Any]) -> str:
    v = card["validation"]
    lines = [
        f"# Model card: {card.get('name', 'credit')} v{card.get('version', '?')} ({card['kind']})",
        "",
        f"- Trained: {card['trained_at']}",
        f"- Data: `{card['data']['source']}`, {card['data']['rows']} rows, label `{card['data']['label']}`, "
        f"bad rate {card['data']['bad_rate']:.1%}",
        f"- Features ({len(card['features_used'])} used): {', '.join(card['features_used'])}",
        f"- Score: {SCORE_MIN}–{SCORE_MAX}, {BASE_SCORE:.0f} at even odds, {PDO:.0f} points to double the odds; "
        "higher is lower risk",
        f"- Validation: {v['method']} ({v['folds']} folds, seed {v['seed']})",
        "",
        "| metric | mean | std |",
        "|---|---|---|",
        *(f"| {m} | {v[m]['mean']:.4f} | {v[m]['std']:.4f} |" for m in METRICS),
        "",
        "PSI compares each training fold's score distribution with its test fold's.",
        "",
        "## Calibration (out-of-fold, by decile of predicted bad rate)",
        "",
        "| decile | rows | predicted | observed |",
        "|---|---|---|---|",
        *(
            f"| {r['decile']} | {r['rows']} | {r['predicted_bad_rate']:.3f} | {r['observed_bad_rate']:.3f} |"
            for r in v["calibration"]
        ),
        "",
        "## Plots",
        "",
        *(f"![{p}]({p})" for p in PLOTS),
    ]
    if "scorecard" in card:
        lines += [
            "",
            "## Scorecard",
            "",
            "| feature | bin | points |",
            "|---|---|---|",
            *(f"| {r['feature']} | {_cell(r['bin'])} | {r['points']:.1f} |" for r in card["scorecard"]),
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_card(card: dict[str, Any], evaluation: Evaluation, out: Path) -> list[Path]:
    """Write card.json, card.md and the plots into `out`; return the files written."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    (out / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "card.md").write_text(markdown(card), encoding="utf-8")
    return [out / "card.json", out / "card.md", *write_plots(evaluation, out)]


def write_plots(evaluation: Evaluation, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve

    y, pd_bad, score = evaluation.y, evaluation.oof_pd, evaluation.oof_score
    fpr, tpr, _ = roc_curve(y, pd_bad)
    paths = [out / p for p in PLOTS]

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"out-of-fold AUC {roc_auc_score(y, pd_bad):.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(
        xlabel="false positive rate (goods flagged)",
        ylabel="true positive rate (bads caught)",
        title=f"ROC — {evaluation.kind}",
    )
    ax.legend(loc="lower right")
    fig.savefig(paths[0], dpi=100, bbox_inches="tight")
    plt.close(fig)

    grid = np.linspace(SCORE_MIN, SCORE_MAX, 301)
    bad_cdf = np.searchsorted(np.sort(score[y == 1]), grid, side="right") / max(1, (y == 1).sum())
    good_cdf = np.searchsorted(np.sort(score[y == 0]), grid, side="right") / max(1, (y == 0).sum())
    gap = bad_cdf - good_cdf
    at = int(np.argmax(gap))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, bad_cdf, label="bads (cumulative share)", color="tab:red")
    ax.plot(grid, good_cdf, label="goods (cumulative share)", color="tab:green")
    ax.vlines(grid[at], good_cdf[at], bad_cdf[at], color="black", label=f"KS {gap[at]:.3f} at {grid[at]:.0f}")
    ax.set(xlabel="score", ylabel="cumulative share", title=f"KS — {evaluation.kind}")
    ax.legend(loc="lower right")
    fig.savefig(paths[1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(SCORE_MIN, SCORE_MAX, 41)
    ax.hist(score[y == 0], bins=bins, alpha=0.6, label="good", color="tab:green", density=True)
    ax.hist(score[y == 1], bins=bins, alpha=0.6, label="bad", color="tab:red", density=True)
    ax.set(xlabel="score", ylabel="density", title=f"Score distribution — {evaluation.kind}")
    ax.legend()
    fig.savefig(paths[2], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths
