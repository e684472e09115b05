"""The training part of the plain PyTorch script (core.export.script): the loss, the number
format, the practical's epoch() and main(), in the order core.engine.train.Trainer does things.

The Trainer's order, which the script keeps so that the same seed gives the same run: seed
torch's global generator (initial weights, dropout), load the data, build the network, the
optimiser and the schedule, seed the generator of the batches' order and the augmentation;
then per epoch train, evaluate val and test in eval mode, step the schedule.
"""

from __future__ import annotations

import inspect
import textwrap

from core.engine import losses
from core.experiment import optimizers

SOFTMAX_MSE = inspect.getsource(losses.softmax_mse)

NUMBER_FORMAT = '''def number_format(device):
    """Return "fp32", "bf16" or "fp16" (train.precision); "auto" is decided as LearnScope
    decides it: bf16 autocast for a CNN only where the device computes bf16 natively (a recent
    GPU, a CPU with AMX or AVX-512 BF16), since elsewhere bf16 is emulated and slower."""
    if PRECISION != "auto":
        return PRECISION
    if device.type == "cuda":
        return "bf16" if torch.cuda.get_device_capability(device)[0] >= 8 else "fp32"
    if device.type != "cpu":
        return "fp32"
    probes = [getattr(torch.cpu, n, None)
              for n in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    if any(p() for p in probes if p is not None):
        return "bf16"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split()
    except OSError:
        flags = []
    return "bf16" if {"amx_bf16", "avx512_bf16"} & set(flags) else "fp32"
'''

EPOCH = '''def epoch(data, model, criterion, optimizer=None$FMT_ARGS):
    """One pass over data: trains the model when given an optimizer, else evaluates it.
    Return (mean loss, accuracy in %).

    $EVAL_NOTE"""
    model.train() if optimizer is not None else model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(optimizer is not None):
        for x, y in data:
$FORWARD            loss = criterion(out, y)  # the batch's mean loss
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
$STEP            loss_sum += loss.item() * len(y)
            # right when the true class scores highest (a tie goes to the first class, as argmax)
            correct += (out.argmax(1) == y).sum().item()
            count += len(y)
    model.train()
    return loss_sum / max(count, 1), 100.0 * correct / max(count, 1)
'''

PLAIN_FORWARD = "            out = model(x)\n"
AUTOCAST_FORWARD = '''            if fmt == "fp32":
                out = model(x)
            else:  # convolutions and products in bf16 / fp16; the loss and the update in fp32
                if x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(x.device.type, dtype=LOW[fmt]):
                    out = model(x)
                out = out.float()
'''
FLIP_TEST_FORWARD = ("out = model(x) if optimizer is not None else (model(x) + model(x.flip(3))) / 2"
                     "  # data.flip_test\n")
PLAIN_STEP = "                $TOTAL.backward()\n                optimizer.step()\n"
SCALED_STEP = ("                scaler.scale($TOTAL).backward()  # fp16: scaled, so small "
               "gradients do not vanish\n                scaler.step(optimizer)\n"
               "                scaler.update()\n")


def epoch_code(exp, autocast: bool) -> str:
    """Return the script's epoch(): the practical's loop, with the run's reduction."""
    total = ("(loss * len(y))" if exp.optim.reduction == "sum" else "loss")
    step = (SCALED_STEP if autocast else PLAIN_STEP).replace("$TOTAL", total)
    if exp.optim.reduction == "sum":
        step = ("                # optim.reduction = \"sum\": the gradient of the batch's summed "
                "loss,\n                # as the lab's hand-written backward computes it\n") + step
    bits = []
    if exp.model.dropout > 0:
        bits.append("dropout off")
    if exp.model.batch_norm:
        bits.append("batch norm on its running statistics")
    note = textwrap.fill(
        "The test pass is this same loop without the optimizer, the model in eval mode (Part 2, "
        "question 14): no backward pass, no update" + (", " + " and ".join(bits) if bits else "")
        + ".", 92, initial_indent="    ", subsequent_indent="    ").strip()
    forward = AUTOCAST_FORWARD if autocast else PLAIN_FORWARD
    if exp.data.flip_test:  # held out: the average with the mirror image's outputs
        forward = forward.replace("out = model(x)\n", FLIP_TEST_FORWARD)
    return (EPOCH.replace("$FMT_ARGS", ', fmt="fp32", scaler=None' if autocast else "")
            .replace("$EVAL_NOTE", note)
            .replace("$FORWARD", forward)
            .replace("$STEP", step))


def criterion_code(exp) -> tuple[str, str]:
    """Return (functions the loss needs, the expression of the loss)."""
    if exp.optim.loss == "mse":
        return SOFTMAX_MSE, "softmax_mse"
    if exp.optim.label_smoothing:
        return "", "lambda out, y: F.cross_entropy(out, y, label_smoothing=LABEL_SMOOTHING)"
    return "", "F.cross_entropy"


def optimizer_code(exp) -> str:
    """The optimiser's line, from its registry entry (core.experiment.optimizers)."""
    return optimizers.OPTIMIZERS[exp.optim.optimizer].script.replace("\n", "\n" + " " * 16)


def schedule_code(exp) -> str:
    return optimizers.SCHEDULES[exp.optim.scheduler].script


MAIN = '''def main():
    torch.manual_seed(SEED)  # the initial weights and the dropout masks
    device = pick_device()
    pool, test, classes = load_data()
    train, val = split_off_validation(*pool)
    train, val, test = [(x.to(device), y.to(device)) for x, y in (train, val, test)]
    inputs = Inputs(train[0])
    model = build_network(len(classes)).to(device, DTYPE)
$SETUP    criterion = $CRITERION
    optimizer = $OPTIMIZER
    schedule = $SCHEDULE
    # the batches' order, the crops and the flips: one generator, seeded apart from the weights
    shuffle = torch.Generator(device=device).manual_seed(SEED)
    n = len(train[1])
    batch_size = min(BATCH_SIZE, n)
$DROP_LAST    used = n - 1 if drop_last else n
    # evaluation batches, as LearnScope's (their size changes no result)
    held_size = $HELD_SIZE
    for e in range(1, EPOCHS + 1):
        lr = optimizer.param_groups[0]["lr"]
        t0 = time.perf_counter()
        loss, accuracy = epoch(batches(*train, batch_size, inputs, True, shuffle, drop_last),
                               model, criterion, optimizer$FMT_CALL$SCALER_CALL)
        images_per_s = used / max(time.perf_counter() - t0, 1e-9)
        if not math.isfinite(loss):  # LearnScope stops the run here too, as "diverged"
            print(f"diverged: the training loss became {loss} in epoch {e} (learning rate "
                  f"{lr:g}); lower LR or standardise the inputs")
            return
        line = [f"epoch {e}/{EPOCHS}", f"train {loss:.4f} / {accuracy:.2f}%"]
        for name, (x, y) in (("val", val), ("test", test)):
            if len(y):
                loss, accuracy = epoch(batches(x, y, held_size, inputs), model, criterion$FMT_CALL)
                line.append(f"{name} {loss:.4f} / {accuracy:.2f}%")
        print("  ".join(line + [f"{images_per_s:,.0f} img/s"]), flush=True)
        if schedule is not None:
            schedule.step()  # once per epoch, after its evaluation
'''

DEVICE = '''def pick_device():
    """train.device: "auto" is a CUDA GPU when there is one, then Apple's MPS, else the CPU."""
    if DEVICE != "auto":
        return torch.device(DEVICE)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    return torch.device("mps" if mps and mps.is_available() else "cpu")
'''


def main_code(exp, autocast: bool, tiny: bool) -> str:
    """Return the script's pick_device() and main()."""
    setup = ""
    if tiny:
        setup += ("    if device.type == \"cpu\":  # a step of so few multiply-adds gains nothing "
                  "from more threads\n        torch.set_num_threads(1)\n")
    if autocast:
        setup += "    fmt = number_format(device)\n"
        if exp.model.kind == "cnn":
            setup += ("    if fmt != \"fp32\":  # the layout the low-precision kernels want\n"
                      "        model = model.to(memory_format=torch.channels_last)\n")
        setup += "    scaler = torch.amp.GradScaler(device.type, enabled=fmt == \"fp16\")\n"
    drop = ("    # batch norm cannot normalise a last batch of one example: it is left out\n"
            "    drop_last = batch_size > 1 and n % batch_size == 1\n") if exp.model.batch_norm \
        else "    drop_last = False\n"
    held = ("8192" if exp.is_points else "1024 if device.type != \"cpu\" else 128")
    _, criterion = criterion_code(exp)
    text = (MAIN.replace("$SETUP", setup).replace("$CRITERION", criterion)
            .replace("$OPTIMIZER", optimizer_code(exp)).replace("$SCHEDULE", schedule_code(exp))
            .replace("$DROP_LAST", drop).replace("$HELD_SIZE", held)
            .replace("$FMT_CALL", ", fmt=fmt" if autocast else "")
            .replace("$SCALER_CALL", ", scaler=scaler" if autocast else ""))
    return DEVICE + "\n\n" + text


def precision_code(autocast: bool) -> str:
    """Return number_format() and the low formats, when the script may autocast."""
    if not autocast:
        return ""
    return 'LOW = {"bf16": torch.bfloat16, "fp16": torch.float16}\n\n\n' + NUMBER_FORMAT
