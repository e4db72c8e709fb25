"""Shared pieces of model training: data files, seeding, the wall-clock schedule with progress
lines, batch augmentation, ONNX export and manifest writing.

Everything here is plain PyTorch + numpy (no torchvision on this machine), and every model gets a
fixed share of wall-clock time so `npm run models:train` finishes within the hour on 2 CPU cores.
"""

import hashlib
import json
import math
import os
import random
import re
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 13


def log(*parts):
    # Flushed at once: progress is read live from a terminal or a CI log, not at exit.
    print(*parts, flush=True)


def fmt_time(seconds):
    seconds = int(max(0, seconds))
    return f'{seconds // 60}m{seconds % 60:02d}s'


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_meta(data_dir):
    with open(os.path.join(data_dir, 'meta.json')) as f:
        meta = json.load(f)
    # Version 2: detector visibilities also count what the frame's edge cuts off.
    if meta.get('version') != 2:
        raise SystemExit(f'{data_dir}/meta.json: dataset version {meta.get("version")}, this code reads version 2: '
                         'rebuild it with `npm run models:data`')
    return meta


def read_u8(path, height, width, count=None, mmap=False):
    """N × H × W × 3 raw RGB. The detector's frames are memory-mapped (GBs); crops are read whole."""
    frame = height * width * 3
    size = os.path.getsize(path)
    if size % frame:
        raise SystemExit(f'{path}: {size} bytes is not a whole number of {width}×{height} RGB images')
    n = size // frame
    if count is not None and count != n:
        raise SystemExit(f'{path}: holds {n} images but its labels list {count}')
    if mmap:
        return np.memmap(path, np.uint8, 'r', shape=(n, height, width, 3))
    return np.fromfile(path, np.uint8).reshape(n, height, width, 3)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def to_input(u8):
    """uint8 N×H×W×3 (numpy or torch) → float N×3×H×W in 0..1: the manifest's mean 0, std 255."""
    t = torch.from_numpy(np.ascontiguousarray(u8)) if isinstance(u8, np.ndarray) else u8
    return t.permute(0, 3, 1, 2).float().div_(255.0)


# ---------------------------------------------------------------------------------------------
# Compute: memory layout and precision


def cpu_has_bf16():
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return re.search(r'\b(amx_bf16|avx512_bf16)\b', flags) is not None


class Compute:
    """How a training step runs: channels-last tensors always, and bfloat16 autocast where the CPU
    computes bfloat16 in hardware (AVX512-BF16, AMX). Every model trains for a fixed wall-clock
    time, so a faster step is more training. Measured on a 2-core Xeon with AMX, one thread, per
    step: detector (16 × 256²) 465 ms NCHW fp32, 319 ms channels-last, 234 ms channels-last bf16;
    classifier (64 × 64²) 278 → 120 ms; re-id (128 × 64²) 141 → 101 ms. In a real training step
    (batch assembly and the loss included) the detector gained less, about 1.2× over fp32
    channels-last; side by side for 12 minutes each it reached val mAP 0.466 against 0.433, so
    the lower precision costs nothing that the extra steps do not repay. Without hardware bf16,
    autocast would emulate it and be slower, so it stays off. Weights stay fp32 (autocast casts
    per operation), losses are computed in fp32, and validation and export run in fp32, so the
    shipped model is what was measured. WALKOUT_TRAIN_PRECISION=fp32|bf16 overrides the choice."""

    def __init__(self, name):
        forced = os.environ.get('WALKOUT_TRAIN_PRECISION', '')
        if forced not in ('', 'fp32', 'bf16'):
            raise SystemExit(f'WALKOUT_TRAIN_PRECISION must be fp32 or bf16, not {forced!r}')
        self.precision = forced or ('bf16' if cpu_has_bf16() else 'fp32')
        log(f'[{name}] training steps in {self.precision}, channels-last'
            + (' (forced by WALKOUT_TRAIN_PRECISION)' if forced else ''))

    def module(self, m):
        return m.to(memory_format=torch.channels_last)

    def input(self, x):
        return x.contiguous(memory_format=torch.channels_last)

    def autocast(self):
        """Wrap the forward pass; cast outputs to float before the loss."""
        return torch.cpu.amp.autocast(enabled=self.precision == 'bf16', dtype=torch.bfloat16)

    def describe(self):
        return f'{self.precision} autocast, channels-last' if self.precision == 'bf16' else 'fp32, channels-last'


# ---------------------------------------------------------------------------------------------
# Wall-clock schedule


class Schedule:
    """Cosine learning rate over a wall-clock budget.

    The first epoch runs a linear warm-up then the base rate; from its end the rate follows a
    cosine of the time left, so training ends on time with an annealed rate whatever the speed
    of the machine (which varies: the first epoch reads the data from disk, other people share
    the cores). The epoch count printed is an estimate from the epochs so far; the last epoch
    is cut short when the time is up.
    """

    def __init__(self, name, optimizer, base_lr, minutes, steps_per_epoch, warmup_steps=100):
        self.name, self.opt, self.base_lr = name, optimizer, base_lr
        self.budget = minutes * 60.0
        self.steps_per_epoch = steps_per_epoch
        self.warmup = min(warmup_steps, steps_per_epoch)
        self.start = time.time()
        self.epochs = None  # estimated from the first epoch on
        self.epoch = 0
        self.step_in_epoch = 0
        self.history = []

    def elapsed(self):
        return time.time() - self.start

    def progress(self):
        """0..1 through the cosine part (after the first epoch)."""
        if not self.history:
            return 0.0
        first = self.history[0]['seconds']
        return min(1.0, (self.elapsed() - first) / max(1.0, self.budget - first))

    def lr(self):
        if not self.history:
            return self.base_lr * min(1.0, (self.step_in_epoch + 1) / self.warmup)
        return self.base_lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * self.progress())))

    def step(self):
        """Call before each optimiser step: sets the rate; False once the time is up."""
        lr = self.lr()
        for group in self.opt.param_groups:
            group['lr'] = lr
        self.step_in_epoch += 1
        return self.elapsed() < self.budget

    def end_epoch(self, loss, metric_text):
        now = self.elapsed()
        self.history.append({'epoch': self.epoch + 1, 'loss': round(float(loss), 5), 'seconds': round(now, 1)})
        self.epoch += 1
        self.step_in_epoch = 0
        # Later epochs are timed apart from the first, which also reads the data from disk.
        recent = (now - self.history[0]['seconds']) / (self.epoch - 1) if self.epoch > 1 else now
        left = max(0.0, self.budget - now)
        self.epochs = self.epoch + math.ceil(left / recent)
        log(
            f'[{self.name}] epoch {self.epoch}/{self.epochs}  loss {loss:.4f}  {metric_text}  '
            f'lr {self.opt.param_groups[0]["lr"]:.2e}  elapsed {fmt_time(now)}  ETA {fmt_time(left)}'
        )

    def done(self):
        return self.elapsed() >= self.budget


# ---------------------------------------------------------------------------------------------
# Batch augmentation (on float N×3×H×W tensors in 0..1)


def random_affine(x, max_angle, scale, shift, dihedral=True):
    """One bilinear resample per sample: a dihedral transform (overhead views have no up),
    a small rotation, scale and shift. Border pixels are repeated rather than padded with black."""
    n = x.shape[0]
    angle = (torch.rand(n) * 2 - 1) * math.radians(max_angle)
    if dihedral:
        angle = angle + torch.randint(0, 4, (n,)).float() * (math.pi / 2)
    s = torch.empty(n).uniform_(*scale)
    flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0) if dihedral else torch.ones(n)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, :, 2] = (torch.rand(n, 2) * 2 - 1) * shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)


_noise_bank = {}


def colour_jitter(x, brightness=0.12, contrast=0.12, gain=0.08, noise=0.02):
    """Lighting in the store varies by about ±8% with a colour cast; the camera adds noise.
    In place, as one multiply-add per pixel: elementwise ops are slow in this torch build."""
    n = x.shape[0]
    b = 1 + (torch.rand(n, 1, 1, 1) * 2 - 1) * brightness
    g = 1 + (torch.rand(n, 3, 1, 1) * 2 - 1) * gain
    c = 1 + (torch.rand(n, 1, 1, 1) * 2 - 1) * contrast
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    # (x - mean) * c * b * g + mean * b * g
    x.mul_(c * b * g).add_(mean * b * g * (1 - c))
    if noise > 0:
        # Fresh Gaussian noise for a whole batch costs a good part of a training step here, so
        # draw from a fixed bank of noise images at a random sample and strength instead.
        key = tuple(x.shape[1:])
        if key not in _noise_bank:
            _noise_bank[key] = torch.randn((32,) + key)
        bank = _noise_bank[key]
        x.add_(bank[torch.randint(0, len(bank), (n,))].mul_(torch.rand(n, 1, 1, 1) * noise))
    return x.clamp_(0, 1)


# ---------------------------------------------------------------------------------------------
# Small building blocks shared by the nets


def cbr(ci, co, stride=1, k=3):
    return nn.Sequential(nn.Conv2d(ci, co, k, stride, k // 2, bias=False), nn.BatchNorm2d(co), nn.ReLU(inplace=True))


def dw(ci, co, stride=1):
    """Depthwise-separable block: most of the accuracy of a 3×3 conv at a fraction of its cost."""
    return nn.Sequential(
        nn.Conv2d(ci, ci, 3, stride, 1, groups=ci, bias=False),
        nn.BatchNorm2d(ci),
        nn.ReLU(inplace=True),
        nn.Conv2d(ci, co, 1, bias=False),
        nn.BatchNorm2d(co),
        nn.ReLU(inplace=True),
    )


def param_count(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# Export and manifest


def export_onnx(module, height, width, path, output_names):
    """Batch 1, fixed size, eval mode (BatchNorm folded into the convolutions), opset 13."""
    import onnx  # only needed here

    # Channels-last was for training speed; the graph is exported from plain NCHW weights.
    module = module.eval().to(memory_format=torch.contiguous_format)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    x = torch.rand(1, 3, height, width)
    with torch.no_grad(), warnings.catch_warnings():
        # torch 1.13's exporter warns about shape inference of constants; the checks below
        # (checker, static output shapes) are what matters.
        warnings.simplefilter('ignore', UserWarning)
        torch.onnx.export(
            module,
            x,
            path,
            opset_version=OPSET,
            input_names=['images'],
            output_names=output_names,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL,
        )
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    leftover = ops & {'BatchNormalization', 'Dropout'}
    if leftover:
        raise SystemExit(f'{path}: training-only nodes left in the graph: {sorted(leftover)}')
    outs = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    if os.environ.get('WALKOUT_TRAIN_REF'):
        # Development aid: torch's answers to the export input, to diff against onnxruntime.
        with torch.no_grad():
            ys = module(x)
        ys = ys if isinstance(ys, tuple) else (ys,)
        base = os.path.join(os.path.dirname(path), 'ref')
        x.numpy().tofile(base + '.in.bin')
        for name, y in zip(output_names, ys):
            y.numpy().astype(np.float32).tofile(f'{base}.{name}.bin')
    size = os.path.getsize(path)
    log(f'exported {path}: {size / 1e6:.2f} MB, {len(model.graph.node)} nodes, outputs {outs}')
    return outs


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(out_dir, name, task, description, size, resize, output, classes, training):
    """The manifest the TypeScript runtime validates (models/runtime/manifest.ts, strict)."""
    height, width = size
    manifest = {
        'schemaVersion': 1,
        'name': name,
        'task': task,
        'description': description,
        'file': 'model.onnx',
        'sha256': sha256(os.path.join(out_dir, 'model.onnx')),
        'opset': OPSET,
        'input': {
            'name': 'images',
            'shape': [1, 3, height, width],
            'layout': 'NCHW',
            'colour': 'RGB',
            'resize': resize,
            'padValue': 114,
            'mean': [0, 0, 0],
            'std': [255, 255, 255],
        },
        'output': output,
        'classes': classes,
        'training': training,
        'metrics': {},
    }
    path = os.path.join(out_dir, 'manifest.json')
    with open(path, 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    log(f'wrote {path}')


def split_sizes(counts):
    return {k: int(v) for k, v in counts.items()}


def rounded(d, places=4):
    """Metrics for the manifest: plain floats, few digits."""
    if isinstance(d, dict):
        return {k: rounded(v, places) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [rounded(v, places) for v in d]
    if isinstance(d, (float, np.floating)):
        return round(float(d), places)
    if isinstance(d, np.integer):
        return int(d)
    return d


def python_info():
    return f'python {sys.version.split()[0]}, torch {torch.__version__}'


class EmbedNet(nn.Module):
    """Small VGG-style CNN for 64×64 crops → L2-normalised embedding: a stride-2 stem, then a
    3×3 conv and a stride-2 conv per stage (64 → 32 → 16 → 8 → 4), average pooled, linear.
    A stride-2 3×3 stem still sees every pixel, so fine patterns (stripes, dots) survive, and
    it makes the net about 4× cheaper to train than one at full resolution (CPU-bound here).

    centre: the middle of the map is pooled on its own too, since the crops are centred on
    what matters (the held item; the person's body) and the rest should not outvote it.
    half: average the input 2×2 first, so the net works on 32×32 at a quarter of the cost."""

    def __init__(self, widths, dim, centre=False, half=False):
        super().__init__()
        layers = ([nn.AvgPool2d(2)] if half else []) + [cbr(3, widths[0], 2)]
        for ci, co in zip(widths, widths[1:]):
            layers += [cbr(ci, ci), cbr(ci, co, 2)]
        self.features = nn.Sequential(*layers)
        self.centre = centre
        self.fc = nn.Linear(widths[-1] * (2 if centre else 1), dim)
        self.dim = dim

    def forward(self, x):
        m = self.features(x)
        f = m.mean(dim=(2, 3))
        if self.centre:
            h, w = m.shape[2], m.shape[3]
            f = torch.cat([f, m[:, :, h // 4:h - h // 4, w // 4:w - w // 4].mean(dim=(2, 3))], 1)
        return F.normalize(self.fc(f), dim=1)


class CosineHead(nn.Module):
    """Cosine similarity to one learned prototype per class."""

    def __init__(self, dim, classes):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, dim) * 0.1)

    def forward(self, emb):
        return emb @ F.normalize(self.weight, dim=1).t()


def margin_softmax_loss(similarity, target, scale, margin):
    """CosFace: the true class must win by `margin` in cosine, which keeps classes compact and
    leaves room between them for things the model was never trained on."""
    logits = similarity - margin * F.one_hot(target, similarity.shape[1]).to(similarity.dtype)
    return F.cross_entropy(logits * scale, target)
