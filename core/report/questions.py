"""Which of the practical's questions each part of the lab report answers (the answer sheet's
numbering: Part 1 is the MLP, Part 2 the CNN), so every figure is titled with its question."""

from __future__ import annotations

#: figure or table id → (title for Part 1's MLP, title for Part 2's CNN)
TITLES: dict[str, tuple[str, str]] = {
    "layers": ("Question 4 — the sizes n_x, n_h, n_y and the weights to learn",
               "Questions 7, 10–11 — each layer's output size, weights and receptive field"),
    "curves": ("Questions 10–11 — loss and accuracy per epoch, train and test",
               "Questions 17–18 — loss and accuracy per epoch: the first epoch, and what goes "
               "wrong"),
    "metrics": ("Question 1 — train and test after the last epoch: performance on unseen data",
                "Question 14 — train and test after the last epoch"),
    "filters": ("Question 4 — the first layer's weights, one image per hidden unit",
                "Question 2 — what a convolution learns: the first layer's filters"),
    "confusion": ("Question 1 — how the held-out examples are classified (last epoch)",
                  "Question 18 — which classes the network confuses (last epoch)"),
    "receptive-field": ("Question 7 — the receptive field of a unit",
                        "Question 7 — the receptive field of a unit: theoretical and effective"),
    "decision-boundary": ("Questions 3–4 — the decision boundary the hidden layer makes possible",
                          "Questions 3–4 — the decision boundary"),
    "replay": ("How it learned — the same picture at evenly spread epochs, from the initial "
               "weights (epoch 0) to the last",
               "How it learned — the first layer's filters at evenly spread epochs, from the "
               "initial weights (epoch 0) to the last"),
    "study-curves": ("Test accuracy per epoch, every run of the study",
                     "Test accuracy per epoch, every rung of the study"),
}

#: what the Inspect views are called when the window adds them to a report
VIEW_IDS = ("filters", "confusion", "receptive-field", "decision-boundary")


def part(kind: str) -> int:
    """Return the practical's part an experiment belongs to: 1 for an MLP, 2 for a CNN."""
    return 2 if kind == "cnn" else 1


def title(figure_id: str, kind: str = "mlp") -> str:
    """Return the title of a figure or table of the report for a network of model.kind `kind`
    (an unknown id is its own title)."""
    titles = TITLES.get(figure_id)
    if titles is None:
        return figure_id.replace("-", " ").capitalize()
    return titles[part(kind) - 1]


def rungs_title(study_kind: str) -> str:
    """Return the title of a study's rung table: a ladder's rungs build on each other."""
    if study_kind == "cumulative":
        return "The study's rungs, each change on top of the previous ones"
    return "The study's runs, each differing from the base in one setting"


def study_bars_title(questions: list[int | None]) -> str:
    """Return the bar chart's title naming the questions the study's rungs answer."""
    asked = sorted({q for q in questions if isinstance(q, int) and not isinstance(q, bool)})
    if not asked:
        return "Test accuracy of each run of the study"
    words = "Question " if len(asked) == 1 else "Questions "
    return words + ", ".join(map(str, asked)) + " — test accuracy after each rung"
