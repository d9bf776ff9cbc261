"""Verdicts against labels: accuracy, false "complete" and false "incomplete" rates.

In: the labels and one model's probabilities (clip order), or those of several models.
Out: per model the counts and rates; whether each float model is at least as accurate as int8
within one label (the target: correct clips >= int8's correct clips - 1).
"""

from collections.abc import Sequence

import numpy as np

from pipeline.bench.turn_accuracy.scoring import THRESHOLD


def judge(labels: Sequence[str], probabilities: np.ndarray) -> dict:
    """Counts and rates for one model over labelled clips (empty rates are None)."""
    complete = np.asarray([label == "complete" for label in labels], dtype=bool)
    said_complete = np.asarray(probabilities) > THRESHOLD
    n, n_complete = len(complete), int(complete.sum())
    n_incomplete = n - n_complete
    correct = int((complete == said_complete).sum())
    false_complete = int((~complete & said_complete).sum())
    false_incomplete = int((complete & ~said_complete).sum())
    return {
        "clips": n,
        "complete_labels": n_complete,
        "incomplete_labels": n_incomplete,
        "correct": correct,
        "accuracy": correct / n if n else None,
        "false_complete": false_complete,
        "false_complete_rate": false_complete / n_incomplete if n_incomplete else None,
        "false_incomplete": false_incomplete,
        "false_incomplete_rate": false_incomplete / n_complete if n_complete else None,
    }


def against_int8(judged: dict[str, dict]) -> dict[str, dict]:
    """For each float model: its correct count against int8's, and whether it is at least as
    accurate within one label."""
    base = judged["int8"]["correct"]
    return {
        model: {
            "correct": j["correct"],
            "int8_correct": base,
            "at_least_int8_within_one_label": j["correct"] >= base - 1,
        }
        for model, j in judged.items()
        if model != "int8"
    }
