"""The network part of the plain PyTorch script (core.export.script): the experiment's
network written out layer by layer, with the names LearnScope gives its layers.

The code is read off the network core.nets.models builds, not written again from the config, so the
script has the same layers in the same order: the same parameter names (LearnScope's weights.pt
loads into it) and, with the same seed, the same initial weights (torch's default
initialisation draws from the global generator layer after layer, in building order).
"""

from __future__ import annotations

import textwrap

from torch import nn

from core.nets import models
from core.data import registry
from core import ExportError


def _linear(m: nn.Linear, last: bool) -> str:
    return f"nn.Linear({m.in_features}, {'n_classes' if last else m.out_features})"


def _pool(m: nn.Module) -> str:
    kind = "MaxPool2d" if isinstance(m, nn.MaxPool2d) else "AvgPool2d"
    return f"nn.{kind}({m.kernel_size}, stride={m.stride}, ceil_mode={m.ceil_mode})"


def layer_code(m: nn.Module, last: bool = False) -> str:
    """Return the constructor of one layer as the script writes it ("nn.Conv2d(3, 32, …)")."""
    if isinstance(m, nn.Linear):
        return _linear(m, last)
    if isinstance(m, nn.Conv2d):
        k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
        return (f"nn.Conv2d({m.in_channels}, {m.out_channels}, kernel_size={k}, stride={s}, "
                f"padding={p})")
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"nn.{type(m).__name__}({m.num_features})"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return _pool(m)
    if isinstance(m, nn.Dropout):
        return f"nn.Dropout({m.p})"
    if isinstance(m, (nn.Flatten, nn.Tanh, nn.ReLU, nn.Sigmoid)):
        return f"nn.{type(m).__name__}()"
    raise ExportError(f"The script export does not know the layer {type(m).__name__}; export "
                      "an experiment built of LearnScope's own layers.")


#: the practical's question each kind of layer answers (said once, above the layers)
QUESTIONS = {"conv": "Part 2, question 8: the padding and stride that keep the size",
             "pool": "question 9: the pooling that halves it",
             "dropout": "questions 29-33: dropout",
             "batchnorm": "question 34: batch norm after each convolution"}


def _questions(table: list[models.LayerInfo], part2: bool) -> str:
    """The comment above the layers: what each row says, and the questions the layers answer."""
    if not part2:
        said = ["→ each layer's output size and parameters (Part 1, question 4: the sizes n_x, "
                "n_h, n_y; question 3: why a non-linearity between the linear layers)"]
    else:
        kinds = {t.kind for t in table}
        said = ["→ each layer's output shape, parameters and receptive field (rf, in pixels): "
                "Part 2, questions 7 and 10"] + [
            text.replace("Part 2, ", "") for kind, text in QUESTIONS.items() if kind in kinds]
    text = "; ".join(said).replace("Part 2, ", "Part\xa02, ") + "."  # kept on one line
    return textwrap.fill(text, 88, initial_indent="    # ",
                         subsequent_indent="    # ").replace("\xa0", " ")


def _comment(row: models.LayerInfo) -> str:
    """→ output shape, parameters, receptive field: the layer table's row."""
    parts = ["→ " + "×".join(map(str, row.out_shape))]
    if row.params:
        parts.append(f"{row.params:,} params")
    if row.rf is not None and row.kind in ("conv", "pool"):
        parts.append(f"rf {row.rf}")
    return ", ".join(parts)


def network_code(exp, n_classes: int | None = None) -> str:
    """Return the script's build_network(n_classes) and, with model.init_std, initialise().

    n_classes: the number of classes when known (a trained run's); else the data set's."""
    shape, known = registry.input_shape(exp.data)
    if n_classes is None and exp.data.dataset != "folder":  # a folder's classes: when read
        n_classes = known
    net = models.build(exp.model, shape, n_classes or known)
    part2 = exp.model.kind == "cnn"
    children = list(net.named_children())
    rows = {r.name: r for r in net.table}
    codes = [f'("{name}", {layer_code(m, last=i == len(children) - 1)}),'
             for i, (name, m) in enumerate(children)]
    width = max(map(len, codes)) + 2
    lines = [f"        {code:<{width}}# {_comment(rows[name])}"
             for code, (name, _) in zip(codes, children)]
    params = sum(r.params for r in net.table)
    count = f": {params:,} parameters for {n_classes} classes" if n_classes else ""
    what = "The lab's CNN (Part 2)" if part2 else "The lab's MLP (Part 1)"
    init = exp.model.init_std
    doc = textwrap.fill(f"{what}, layer for layer as LearnScope builds it{count}. The names "
                        "are LearnScope's, so a run's weights.pt loads into this network.",
                        92, initial_indent="    ", subsequent_indent="    ").strip()
    text = f'''def build_network(n_classes):
    """{doc}"""
{_questions(net.table, part2)}
    model = nn.Sequential(OrderedDict([
{chr(10).join(lines)}
    ]))
'''
    if init > 0:
        text += f"    initialise(model, std={init!r})  # model.init_std\n"
    else:
        text += ("    # model.init_std = 0: PyTorch's default initialisation, as LearnScope "
                 "leaves it\n")
    text += "    return model\n"
    return (INITIALISE + "\n\n" + text) if init > 0 else text


INITIALISE = '''def initialise(model, std):
    """The lab's initialisation: every weight from N(0, std), every bias 0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.normal_(0.0, std)
                m.bias.zero_()
'''


def is_tiny(exp) -> bool:
    """Whether LearnScope trains this network on one CPU thread (core.engine.devices.cpu_threads_for):
    a step of a few thousand multiply-adds gains nothing from more."""
    from core.engine.devices import TINY_STEP_MACS
    shape, classes = registry.input_shape(exp.data)
    table = models.layer_table(exp.model, shape, classes)
    n = exp.data.n_train or registry.get(exp.data.dataset).sizes[0]
    batch = min(exp.train.batch_size, n) if n else exp.train.batch_size
    return sum(t.macs for t in table) * batch < TINY_STEP_MACS
