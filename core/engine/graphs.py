"""train.cuda_graphs: the training step captured once as a CUDA graph, then replayed.

On a GPU the practical's small networks are launch-bound: each step is a few hundred tiny kernels
that the CPU launches one by one. Captured once, the step's forward, loss, backward and optimiser
update replay as one launch (a probe on an H100 ran the practical CNN's step 3.6–4× faster).

How a run is captured (prime): on the training split's first batch, a few warm-up steps (cuDNN
chooses its kernels, the optimiser allocates its state), then the capture; then the network's
parameters and buffers are put back as they were and the optimiser's state to zero — its state
before a first step — so the run trains from the same start as an eager one. Every batch of
the captured size is then copied into the graph's input and replayed; a batch of another size (an
epoch's last) and a step the views watch with forward hooks (layer health) take the eager step,
and the gradients stay in the tensors `.grad` names. Stop, pause, the views' calls between steps
and the metrics are unchanged: they happen between replays.

What capture needs, and when a run goes without it (its first line says why):
- the learning rate as a tensor on the device, read by a fused optimiser step (the schedule
  fills the tensor in place between epochs): SGD, Adam and AdamW have one;
- no CPU synchronisation inside the step: fp16's loss scaling has one, bf16 needs none;
- autocast without its cache of cast weights (core.engine.precision.Precision.for_capture);
- torch.compile off (a compiled network brings its own graphs).
"""

from __future__ import annotations

from typing import Callable

import torch

#: torch optimisers with a fused step that reads a tensor learning rate
CAPTURABLE = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)
WARMUP_STEPS = 3  # before capture, as PyTorch's CUDA graphs notes do

Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def choose(setting: str, device: torch.device, implementation: str, fmt,
           compiled: bool) -> tuple[bool, str]:
    """(capture the step?, the words the run's first line adds: "" when nothing to say).

    auto captures on a CUDA device where the step allows and is silent on a CPU; on says
    why not wherever it cannot."""
    if setting == "off":
        return False, ""
    why = ""
    if device.type != "cuda":
        why = "they need a CUDA device"
    elif implementation != "optim":
        why = "Part 1's hand-written steps read the learning rate on the CPU"
    elif fmt.name == "fp16":
        why = "fp16's loss scaling reads back to the CPU every step (bf16 needs none)"
    elif compiled:
        why = "train.compile is on"
    if not why:
        return True, ""
    return False, f"no CUDA graphs: {why}" if setting == "on" or device.type == "cuda" else ""


def capturable(opt: torch.optim.Optimizer, device: torch.device
               ) -> tuple[torch.optim.Optimizer, str]:
    """(the same optimiser over the same parameters, its learning rate a tensor on the device
    and its step fused, "") — or (opt unchanged, why not)."""
    if type(opt) not in CAPTURABLE:
        return opt, f"no CUDA graphs: the {type(opt).__name__} optimiser has no fused step"
    fused = {"fused": True, "foreach": None}
    if "capturable" in opt.defaults:  # Adam's step count stays on the device
        fused["capturable"] = True
    # a group's own options win over the constructor's: each group gets them
    groups = [dict(g, lr=torch.tensor(float(g["lr"]), device=device), **fused)
              for g in opt.param_groups]
    kw = {k: v for k, v in opt.defaults.items() if k != "lr"} | fused
    try:
        return type(opt)(groups, lr=groups[0]["lr"], **kw), ""
    except (RuntimeError, ValueError, TypeError) as e:
        return opt, f"no CUDA graphs: {type(opt).__name__}'s fused step refused ({_short(e)})"


def record(body: Step, x: torch.Tensor, y: torch.Tensor) -> Callable[[], tuple]:
    """Capture body(x, y) as a CUDA graph; return replay() -> body's outputs (the same tensors,
    refilled by each replay)."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = body(x, y)

    def replay():
        graph.replay()
        return out
    return replay


class Graphed:
    """step(x, y) -> (batch-mean loss, logits): the captured step replayed (see the module)."""

    def __init__(self, eager: Step, model: torch.nn.Module, replay: Callable[[], tuple],
                 x: torch.Tensor, y: torch.Tensor):
        self.eager, self.model, self.replay = eager, model, replay
        self.x, self.y = x, y
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.grads = [p.grad for p in self.params]  # the tensors the graph writes

    def __call__(self, x: torch.Tensor, y: torch.Tensor):
        if x.shape != self.x.shape or _hooked(self.model):
            out = self.eager(x, y)
            self._keep_grads()
            return out
        self.x.copy_(x)
        self.y.copy_(y)
        return self.replay()

    def _keep_grads(self) -> None:
        """An eager step left fresh .grad tensors: copy them into the graph's, which .grad names
        again (layer health reads the last step's gradients there)."""
        with torch.no_grad():
            for p, g in zip(self.params, self.grads):
                if g is None or p.grad is g:
                    continue
                if p.grad is None:
                    g.zero_()
                else:
                    g.copy_(p.grad)
                p.grad = g


def prime(step: Step, model: torch.nn.Module, opt: torch.optim.Optimizer,
          x: torch.Tensor, y: torch.Tensor, device: torch.device) -> tuple[Step, str]:
    """(the graphed step, "CUDA graphs") — or (step, why not) when capture failed; either way
    the network and the optimiser are as they were before (see the module)."""
    tensors = [*model.parameters(), *model.buffers()]
    with torch.no_grad():
        saved = [t.detach().clone() for t in tensors]
    x, y = x.clone(), y.clone()  # the graph's input, refilled before each replay
    try:
        if _hooked(model):
            raise RuntimeError("a forward hook is on the network")
        with torch.random.fork_rng(devices=[]):  # the warm-up's dropout leaves the CPU's seed be
            _warm_up(step, x, y, device)
            replay = record(step, x, y)
        graphed, note = Graphed(step, model, replay, x, y), "CUDA graphs"
    except Exception as e:  # noqa: BLE001 — any failure leaves the eager step, said once
        for p in model.parameters():
            p.grad = None
        graphed, note = step, f"no CUDA graphs: capture failed ({_short(e)})"
    with torch.no_grad():
        for t, s in zip(tensors, saved):
            t.copy_(s)
        # zero is each state's start: Adam's moments and step count; SGD's first step copies
        # the gradient into its momentum buffer, as momentum × 0 + gradient does (no dampening)
        for state in opt.state.values():
            for v in state.values():
                if torch.is_tensor(v):
                    v.zero_()
    return graphed, note


def _warm_up(step: Step, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> None:
    if device.type != "cuda":
        for _ in range(WARMUP_STEPS):
            step(x, y)
        return
    side = torch.cuda.Stream(device)  # PyTorch's recipe: warm up off the default stream
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(WARMUP_STEPS):
            step(x, y)
    torch.cuda.current_stream(device).wait_stream(side)


def _hooked(model: torch.nn.Module) -> bool:
    """Whether a view watches the network's forward (a replay would run no Python hook)."""
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    text = text if len(text) <= 120 else text[:117] + "…"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__

