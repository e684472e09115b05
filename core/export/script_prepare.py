"""What the network sees, in the plain PyTorch script (core.export.script): standardisation,
ZCA whitening, the random crop and flip, and the batches, as core.data.loader does them.

The operations and the order of the random draws are the loader's (the shuffle, then per
batch the crops' rows, their columns, then the flips, all from one generator), so the script
sees the same batches; only the code is written for reading (a crop is a slice per example,
where the loader gathers them all at once).
"""

from __future__ import annotations

import textwrap

STATS = '''        c = train_x.shape[1]
        dims = (0, 2, 3) if self.images else (0,)
        mean = torch.zeros(c, dtype=torch.float64, device=train_x.device)
        sq = torch.zeros(c, dtype=torch.float64, device=train_x.device)
        count = 0
        for chunk in train_x.split(4096):  # exact sums in float64, a chunk at a time
            v = chunk.double() / 255 if self.images else chunk.double()
            mean += v.sum(dims)
            sq += (v * v).sum(dims)
            count += v.numel() // c
        mean /= max(count, 1)
        std = (sq / max(count, 1) - mean * mean).clamp_min(1e-12).sqrt()
        mean, std = mean.float(), std.float()
        # the training split's per-channel mean and std, applied to every split (Part 2,
        # question 20: why only the training examples)
        scale, shift = 1 / std, -mean / std
'''

NO_STATS = '''        c = train_x.shape[1]
        # data.standardize = "none" (Part 2, question 20 adds it): pixels only scaled to [0, 1]
        scale = torch.ones(c, device=train_x.device)
        shift = torch.zeros(c, device=train_x.device)
'''

SHAPE = '''        if self.images:  # uint8 pixels → [0, 1] → standardised, in one multiply-add
            scale = scale / 255
        shape = (1, c, 1, 1) if self.images else (1, c)
        self.scale, self.shift = scale.view(shape), shift.view(shape)
'''

ZCA = '''
    def whitening(self, train_x, eps=1e-2):
        """Return the ZCA matrix U·diag(1/√(λ + ε))·Uᵀ of the standardised training split
        (Part 2, question 21)."""
        d, n = train_x[0].numel(), len(train_x)
        cov = torch.zeros(d, d, dtype=torch.float64, device=train_x.device)
        for chunk in train_x.split(2048):
            v = self.standardise(chunk).flatten(1).double()
            cov += v.T @ v
        cov /= max(n, 1)
        lam, u = torch.linalg.eigh(cov.cpu())
        return ((u * (1 / (lam.clamp_min(0) + eps).sqrt())) @ u.T).float().to(train_x.device)
'''

STANDARDISE = '''
    def standardise(self, xb):
        return xb.to(DTYPE) * self.scale.to(DTYPE) + self.shift.to(DTYPE)
'''

CROP = '''        n, c, h, w = v.shape
        if train:  # a random CROP×CROP window of each image (Part 2, question 22)
            p, k = CROP_PADDING, CROP
            if p:  # padded after standardising: the padding is the training mean, not black
                v = F.pad(v, (p, p, p, p))
            top = torch.randint(0, h + 2 * p - k + 1, (n,), device=v.device, generator=g)
            left = torch.randint(0, w + 2 * p - k + 1, (n,), device=v.device, generator=g)
            v = torch.stack([v[i, :, t:t + k, s:s + k]
                             for i, (t, s) in enumerate(zip(top.tolist(), left.tolist()))])
        elif CROP < h:  # at test, the centre crop
            top, left = (h - CROP) // 2, (w - CROP) // 2
            v = v[:, :, top:top + CROP, left:left + CROP]
'''

FLIP = '''        if train:  # flip left-right, p 0.5 (Part 2, question 23: not valid for arrows)
            n = v.shape[0]
            flip = torch.rand(n, device=v.device, generator=g) < 0.5
            v = torch.where(flip.view(n, 1, 1, 1), v.flip(3), v)
'''

BATCHES = '''def batches(x, y, batch_size, inputs, train=False, g=None, drop_last=False):
    """Yield (inputs, labels) batches; training batches come in a new random order each epoch.

    drop_last leaves out a last batch of one example (batch norm cannot normalise it)."""
    n = len(y)
    order = torch.randperm(n, device=x.device, generator=g) if train else None
    for i in range(0, n, batch_size):
        if drop_last and n - i < 2:
            return
        idx = slice(i, i + batch_size) if order is None else order[i:i + batch_size]
        yield inputs(x[idx], train, g), y[idx]
'''


POINTS = '''class Inputs:
    """Raw examples as the network sees them: the points as they are (data.standardize =
    "none")."""

    def __init__(self, train_x):
        pass

    def __call__(self, xb, train=False, g=None):
        return xb.to(DTYPE)
'''


def inputs_code(exp) -> str:
    """Return the script's Inputs class (what the network sees of raw examples) and batches()."""
    dc = exp.data
    if exp.is_points and dc.standardize == "none":  # LearnScope's x·1 + 0 is x
        return POINTS + "\n\n" + BATCHES
    on = dc.standardize in ("channel", "zca")
    zca = dc.standardize == "zca"
    words = ["standardised with the training split's statistics (Part 2, question 20)" if on
             else "as numbers (data.standardize = \"none\")"]
    if zca:
        words.append("ZCA-whitened (question 21)")
    if dc.crop or dc.flip:
        words.append("randomly cropped and flipped while training (questions 22-23)"
                     if dc.crop and dc.flip else
                     "randomly cropped while training (question 22), centre-cropped at test"
                     if dc.crop else "randomly flipped while training (question 23)")
    init = ("        self.images = train_x.dim() == 4\n" + (STATS if on else NO_STATS) + SHAPE
            + ("        self.zca = self.whitening(train_x)\n" if zca else ""))
    call = "        v = self.standardise(xb)\n"
    if zca:
        call += "        v = (v.flatten(1) @ self.zca.to(v.dtype)).view_as(v)\n"
    if dc.crop:
        call += CROP
    if dc.flip:
        call += FLIP
    call += "        return v.contiguous()\n" if (dc.crop or dc.flip) else "        return v\n"
    doc = textwrap.fill(f"Raw examples as the network sees them: {', '.join(words)}.", 92,
                        initial_indent="    ", subsequent_indent="    ").strip()
    text = (f'class Inputs:\n    """{doc}"""\n\n'
            f"    def __init__(self, train_x):\n{init}{STANDARDISE}{ZCA if zca else ''}\n"
            f"    def __call__(self, xb, train=False, g=None):\n{call}")
    return text + "\n\n" + BATCHES
