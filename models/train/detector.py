"""Person / head / hand / item detector: anchor-free, CenterNet-style, heads at two strides.

Trained on 256×256 crops of the 640×480 overhead frames (the net is fully convolutional, and a
crop costs a fifth of a frame), exported at 640×480 with the decoding in the graph so that the
output is the Ultralytics YOLOv8 layout [1, 4 + classes, anchors] that one decoder serves for
ours and for drop-in models.

Anchors are per class: a hand and the item it holds, or a head and its person seen from above,
share their centre cell, and a YOLOv8 anchor carries one box. So the output holds one plane per
class on its level's grid (80×60 for person and head, 160×120 for hand and item), each plane
scoring only its own class."""

import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (
    Compute, Schedule, cbr, colour_jitter, dw, export_onnx, log, param_count, read_u8, rounded, to_input,
    write_manifest,
)
from detector_eval import NMS_IOU, ap_text, evaluate, is_ignored

# Square, so 90° rotations keep the crop size. 8-minute A/B: 256 reached val mAP 0.350 (hand
# 0.151) where 320 reached 0.339 (hand 0.084): more steps in the time matter more than context.
CROP = 256
# Measured over 8 minutes of training: floor 0.8 with 70% focused crops reached val mAP 0.29
# where 0.5 with random crops reached 0.24.
SIGMA_FLOOR = 0.8  # cells: the least spread of an object's heatmap Gaussian (see build_targets)
FOCUS = 0.7  # share of training crops placed around an object rather than anywhere
FOCUS_WEIGHT = (1.0, 1.0, 2.0, 2.0)  # per class: how often a focused crop picks it

# Hands and items are about one stride-8 cell: they get their own stride-4 planes, so that a
# box's centre and size are read at twice the resolution; people and heads stay at stride 8.
# 8-minute A/B against the stride-8 head with a stride-4 detail branch: val mAP 0.330 against
# 0.276, hand AP 0.159 against 0.058, in fewer steps (a step costs about a quarter more).
LEVELS = ((8, (0, 1)), (4, (2, 3)))  # (stride, class indices), in class order

# Channels per level. The detector had stopped learning people rather than failing to generalise:
# on training frames it scored the same person AP as on test (0.862 / 0.863). On the machine of
# 2026-12-05 a frame cost (onnxruntime-node, one thread, random weights) 3.1 ms at 64-96-128
# (stride 4: 16), 4.4 at 96-128-192, 6.4 at 128-192-256 and about 7 with 24 channels at stride 4,
# all far inside the loader's 100 frames/s, while a training step grew less (62 → 73 → 96 ms), so
# width was nearly free. Trained 50 minutes each, whole val split (person / head / hand / item,
# NMS 0.5): 64-96-128 0.852 / 0.941 / 0.811 / 0.380 (90 epochs); 96-128-192 0.861 / 0.953 / 0.795
# / 0.438 (84); 128-192-256 0.877 / 0.945 / 0.800 / 0.473 (68); and with 24 at stride 4 0.882 /
# 0.946 / 0.841 / 0.489 (67), which is shipped.
WIDTHS = {'s8': 128, 's16': 192, 's32': 256, 's4': 24}


class DetNet(nn.Module):
    """Stride-4 stem, depthwise-separable backbone to stride 32, top-down merge back to stride 8
    (person, head) and on to stride 4 (hand, item)."""

    def __init__(self, classes):
        super().__init__()
        self.classes = classes
        n8, n4 = len(LEVELS[0][1]), len(LEVELS[1][1])
        c8, c16, c32, c4 = WIDTHS['s8'], WIDTHS['s16'], WIDTHS['s32'], WIDTHS['s4']
        self.stem = nn.Sequential(cbr(3, 16, 2), dw(16, 32, 2))
        self.s8 = nn.Sequential(dw(32, c8, 2), dw(c8, c8))
        self.s16 = nn.Sequential(dw(c8, c16, 2), dw(c16, c16), dw(c16, c16))
        self.s32 = nn.Sequential(dw(c16, c32, 2), dw(c32, c32))
        self.l32, self.f16 = nn.Conv2d(c32, c16, 1), dw(c16, c16)
        self.l16 = nn.Conv2d(c16, c8, 1)
        # Separate towers (they also do the merge's smoothing): the heatmap wants "what", the
        # boxes want "where exactly".
        self.cls_tower, self.reg_tower = dw(c8, c8), dw(c8, c8)
        self.cls = nn.Conv2d(c8, n8, 1)
        self.reg = nn.Conv2d(c8, 4 * n8, 1)  # per class: dx, dy (cells), log w, log h (strides)
        # The stride-4 level needs where, the meaning comes up from stride 8, so it stays narrow: 32
        # channels cost 4.5 ms a frame on the machine of 2026-11 (92 frames/s through the loader).
        self.squeeze4 = cbr(32, c4, k=1)
        self.l8 = nn.Conv2d(c8, c4, 1)
        self.cls4_tower, self.reg4_tower = dw(c4, c4), dw(c4, c4)
        self.cls4 = nn.Conv2d(c4, n4, 1)
        self.reg4 = nn.Conv2d(c4, 4 * n4, 1)
        for c, r in ((self.cls, self.reg), (self.cls4, self.reg4)):
            nn.init.constant_(c.bias, -4.6)  # prior 0.01: the focal loss starts from "nothing here"
            nn.init.normal_(r.weight, std=0.01)
            nn.init.zeros_(r.bias)

    def forward(self, x):
        x4 = self.stem(x)
        x8 = self.s8(x4)
        x16 = self.s16(x8)
        x32 = self.s32(x16)
        y16 = self.f16(x16 + F.interpolate(self.l32(x32), scale_factor=2.0, mode='nearest'))
        y8 = x8 + F.interpolate(self.l16(y16), scale_factor=2.0, mode='nearest')
        y4 = self.squeeze4(x4) + F.interpolate(self.l8(y8), scale_factor=2.0, mode='nearest')
        return [(self.cls(self.cls_tower(y8)), self.reg(self.reg_tower(y8))),
                (self.cls4(self.cls4_tower(y4)), self.reg4(self.reg4_tower(y4)))]


def decode_boxes(reg, gx, gy, stride):
    """reg [..., 4, A] per-cell raw → cx, cy, w, h in input pixels. Shared by loss and export."""
    cx = (gx + 0.5 + reg[..., 0, :]) * stride
    cy = (gy + 0.5 + reg[..., 1, :]) * stride
    w = torch.exp(reg[..., 2, :].clamp(-4.0, 5.0)) * stride
    h = torch.exp(reg[..., 3, :].clamp(-4.0, 5.0)) * stride
    return torch.stack([cx, cy, w, h], dim=-2)


class Exported(nn.Module):
    """The graph as shipped: sigmoid, 3×3 peak suppression, box decoding, YOLOv8 layout with one
    anchor plane per class at its level's grid."""

    def __init__(self, net, height, width):
        super().__init__()
        self.net = net
        for l, (stride, cls) in enumerate(LEVELS):
            h, w = height // stride, width // stride
            gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing='ij')
            self.register_buffer(f'gx{l}', gx.reshape(1, 1, -1))
            self.register_buffer(f'gy{l}', gy.reshape(1, 1, -1))
            eye = torch.eye(net.classes)[list(cls)]
            self.register_buffer(f'eye{l}', eye.reshape(1, len(cls), net.classes, 1))

    def forward(self, x):
        outs = []
        for l, ((logits, reg), (stride, _)) in enumerate(zip(self.net(x), LEVELS)):
            n, c, h, w = logits.shape
            score = torch.sigmoid(logits)
            # A cell keeps its score only where it is the 3×3 maximum, so NMS downstream just cleans up.
            score = score * (F.max_pool2d(score, 3, 1, 1) == score).float()
            boxes = decode_boxes(reg.reshape(n, c, 4, h * w), getattr(self, f'gx{l}'), getattr(self, f'gy{l}'), stride)
            scores = score.reshape(n, c, 1, h * w) * getattr(self, f'eye{l}')  # plane p scores only its class
            out = torch.cat([boxes, scores], dim=2)  # n, plane, 4 + classes, A
            outs.append(out.permute(0, 2, 1, 3).reshape(n, 4 + self.net.classes, c * h * w))
        return torch.cat(outs, dim=2)


# ---------------------------------------------------------------------------------------------
# Data


def load_split(data_dir, split):
    d = os.path.join(data_dir, 'detector', split)
    with open(os.path.join(d, 'labels.jsonl')) as f:
        labels = [np.array(json.loads(line)['boxes'], np.float32).reshape(-1, 6) for line in f if line.strip()]
    images = read_u8(os.path.join(d, 'images.u8'), 480, 640, len(labels), mmap=True)
    return images, labels


def random_crop(image, boxes, rng):
    """A CROP×CROP crop, a random dihedral transform; boxes clipped, and cut ones (under half
    their area left) turned into ignore regions. Returns the crop and boxes with an ignore flag."""
    H, W = image.shape[:2]
    x0, y0 = int(rng.integers(0, W - CROP + 1)), int(rng.integers(0, H - CROP + 1))
    ok = ~is_ignored(boxes)
    if FOCUS > 0 and ok.any() and rng.random() < FOCUS:
        # Most of a frame is floor and shelves: centre some crops near an object (hands and
        # items more often) so that a step sees more of what is hard.
        w = np.array(FOCUS_WEIGHT)[boxes[:, 0].astype(int)] * ok
        pick = boxes[rng.choice(len(boxes), p=w / w.sum())]
        cx, cy = pick[1] + pick[3] / 2, pick[2] + pick[4] / 2
        x0 = int(np.clip(cx - rng.uniform(0.1, 0.9) * CROP, 0, W - CROP))
        y0 = int(np.clip(cy - rng.uniform(0.1, 0.9) * CROP, 0, H - CROP))
    img = np.asarray(image[y0:y0 + CROP, x0:x0 + CROP])
    b = boxes
    ign = ~ok
    bx0, by0 = np.clip(b[:, 1] - x0, 0, CROP), np.clip(b[:, 2] - y0, 0, CROP)
    bx1, by1 = np.clip(b[:, 1] + b[:, 3] - x0, 0, CROP), np.clip(b[:, 2] + b[:, 4] - y0, 0, CROP)
    area = (bx1 - bx0) * (by1 - by0)
    keep = area > 0
    ign = ign | (area < 0.5 * b[:, 3] * b[:, 4])
    out = np.stack([b[:, 0], bx0, by0, bx1 - bx0, by1 - by0, ign.astype(np.float32)], 1)[keep]
    return dihedral(img, out, CROP, rng)


def dihedral(img, boxes, size, rng):
    """A random flip and quarter turn of a size×size image and its [class, x, y, w, h, flag] boxes."""
    if rng.random() < 0.5:
        img = img[:, ::-1]
        boxes[:, 1] = size - boxes[:, 1] - boxes[:, 3]
    for _ in range(int(rng.integers(0, 4))):
        img = np.rot90(img)  # new x = old y, new y = size - old x
        boxes = boxes[:, [0, 2, 1, 4, 3, 5]]
        boxes[:, 2] = size - boxes[:, 2] - boxes[:, 4]
    return np.ascontiguousarray(img), boxes


def build_targets(boxes, classes, size, stride):
    """Heatmap (Gaussian per object, peak 1 at its centre cell), loss mask (0 inside ignore
    regions) and the positive cells for box regression, each weighted by its Gaussian and
    normalised so that every object, however small, weighs the same."""
    h = w = size // stride
    heat = np.zeros((classes, h, w), np.float32)
    mask = np.ones((classes, h, w), np.float32)
    pos = []  # class, gy, gx, x0, y0, x1, y1, weight
    for c, x, y, bw, bh, ign in boxes:
        c = int(c)
        if ign:
            gx0, gy0 = int(x // stride), int(y // stride)
            gx1, gy1 = int(min(w - 1, (x + bw) // stride)), int(min(h - 1, (y + bh) // stride))
            mask[c, gy0:gy1 + 1, gx0:gx1 + 1] = 0
            continue
        cx, cy = x + bw / 2, y + bh / 2
        gx, gy = min(w - 1, int(cx // stride)), min(h - 1, int(cy // stride))
        # TTFNet's elliptical Gaussian (σ = 0.54·size/6), floored: items and hands are about a
        # cell, and which of two neighbouring cells holds their centre is a guess; with a wide
        # floor the neighbours are nearly unpenalised (and regress the box too), the peak
        # suppression keeps one of them.
        sx, sy = max(SIGMA_FLOOR, 0.54 * bw / 6 / stride), max(SIGMA_FLOOR, 0.54 * bh / 6 / stride)
        rx, ry = int(math.ceil(2.5 * sx)), int(math.ceil(2.5 * sy))
        xs = np.arange(max(0, gx - rx), min(w, gx + rx + 1))
        ys = np.arange(max(0, gy - ry), min(h, gy + ry + 1))
        g = np.exp(-((xs[None, :] - gx) ** 2) / (2 * sx * sx) - ((ys[:, None] - gy) ** 2) / (2 * sy * sy))
        region = heat[c, ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
        np.maximum(region, g, out=region)
        sel = g >= 0.1
        yy, xx = np.nonzero(sel)
        cells = np.empty((len(yy), 8), np.float32)
        cells[:] = (c, 0, 0, x, y, x + bw, y + bh, 0)
        cells[:, 1], cells[:, 2], cells[:, 7] = ys[yy], xs[xx], g[sel] / g[sel].sum()
        pos.append(cells)
    mask[heat == 1] = 1  # an object's own centre is never ignored
    return heat, mask, np.concatenate(pos) if pos else np.zeros((0, 8), np.float32)


def make_batch(images, labels, idx, classes, rng):
    """The input batch and, per level, heatmaps, masks and positive cells (with their batch index)."""
    crops = [random_crop(images[i], labels[i], rng) for i in idx]
    targets = []
    for stride, cls in LEVELS:
        heats, masks, pos = [], [], []
        for b, (_, boxes) in enumerate(crops):
            sel = boxes[np.isin(boxes[:, 0].astype(int), cls)].copy()
            sel[:, 0] = np.searchsorted(np.array(cls), sel[:, 0].astype(int))
            heat, mask, p = build_targets(sel, len(cls), CROP, stride)
            heats.append(heat)
            masks.append(mask)
            pos.append(np.concatenate([np.full((len(p), 1), b, np.float32), p], 1))
        pos = torch.from_numpy(np.concatenate(pos))  # batch, class, gy, gx, x0, y0, x1, y1, weight
        targets.append((torch.from_numpy(np.stack(heats)), torch.from_numpy(np.stack(masks)), pos))
    return to_input(np.stack([c[0] for c in crops])), targets


# ---------------------------------------------------------------------------------------------
# Loss


def giou(a, b):
    """a, b: [P, 4] x0 y0 x1 y1."""
    ix0, iy0 = torch.max(a[:, 0], b[:, 0]), torch.max(a[:, 1], b[:, 1])
    ix1, iy1 = torch.min(a[:, 2], b[:, 2]), torch.min(a[:, 3], b[:, 3])
    inter = (ix1 - ix0).clamp(min=0) * (iy1 - iy0).clamp(min=0)
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    iou = inter / union.clamp(min=1e-6)
    ex0, ey0 = torch.min(a[:, 0], b[:, 0]), torch.min(a[:, 1], b[:, 1])
    ex1, ey1 = torch.max(a[:, 2], b[:, 2]), torch.max(a[:, 3], b[:, 3])
    enclose = ((ex1 - ex0) * (ey1 - ey0)).clamp(min=1e-6)
    return iou - (enclose - union) / enclose


def detection_loss(logits, reg, heat, mask, pos, stride, reg_weight=2.0):
    # Penalty-reduced focal loss (CenterNet), in log-sigmoid form for stability.
    p = torch.sigmoid(logits)
    is_pos = (heat == 1).float()
    pos_l = -F.logsigmoid(logits) * (1 - p) ** 2 * is_pos
    neg_l = -F.logsigmoid(-logits) * p ** 2 * (1 - heat) ** 4 * (1 - is_pos)
    n_obj = max(1.0, float(is_pos.sum()))
    heat_loss = ((pos_l + neg_l) * mask).sum() / n_obj
    if pos.shape[0] == 0:
        return heat_loss, heat_loss.detach(), torch.zeros(())
    n, c, h, w = logits.shape
    b, cls, gy, gx = pos[:, 0].long(), pos[:, 1].long(), pos[:, 2].long(), pos[:, 3].long()
    raw = reg.reshape(n, c, 4, h, w)[b, cls, :, gy, gx]  # P, 4
    box = decode_boxes(raw.t().unsqueeze(0), gx.float(), gy.float(), stride)[0].t()  # P, 4 (cx cy w h)
    pred = torch.stack([box[:, 0] - box[:, 2] / 2, box[:, 1] - box[:, 3] / 2,
                        box[:, 0] + box[:, 2] / 2, box[:, 1] + box[:, 3] / 2], 1)
    reg_loss = ((1 - giou(pred, pos[:, 4:8])) * pos[:, 8]).sum() / n_obj
    return heat_loss + reg_weight * reg_loss, heat_loss.detach(), reg_loss.detach()


# ---------------------------------------------------------------------------------------------


def train(meta, data_dir, out_dir, seed, minutes, batch=16, lr=3e-3, quick_val=100):
    classes = meta['detector']['classes']
    W, H = meta['detector']['width'], meta['detector']['height']
    images, labels = load_split(data_dir, 'train')
    val_images, val_labels = load_split(data_dir, 'val')
    n_test = sum(1 for line in open(os.path.join(data_dir, 'detector', 'test', 'labels.jsonl')) if line.strip())
    log(f'[detector] {len(labels)} train frames, {len(val_labels)} val, {n_test} test; '
        f'{sum(len(b) for b in labels)} train boxes; {minutes:.1f} min budget')
    rng = np.random.default_rng(seed)
    compute = Compute('detector')
    net = compute.module(DetNet(len(classes)))
    exported = Exported(net, H, W)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps_per_epoch = max(20, len(labels) // batch)
    sched = Schedule('detector', opt, lr, minutes, steps_per_epoch, warmup_steps=150)
    t_data = 0.0
    while not sched.done():
        net.train()
        losses, order = [], rng.permutation(len(labels))
        for s in range(steps_per_epoch):
            t0 = time.time()
            idx = order[(np.arange(batch) + s * batch) % len(order)]
            x, targets = make_batch(images, labels, idx, len(classes), rng)
            x = colour_jitter(x, brightness=0.15, contrast=0.15, gain=0.08, noise=0.02)
            t_data += time.time() - t0
            with compute.autocast():
                outs = net(compute.input(x))
            parts = [detection_loss(lg.float(), rg.float(), *t, stride)
                     for (lg, rg), t, (stride, _) in zip(outs, targets, LEVELS)]
            loss, hl, rl = (sum(p[i] for p in parts) for i in range(3))
            going = sched.step()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            losses.append((loss.item(), hl.item(), rl.item()))
            if not going:
                break
        v = evaluate(exported, val_images, val_labels, classes, limit=quick_val)
        m = np.mean(losses, 0)
        sched.end_epoch(m[0], f'(heat {m[1]:.3f} giou {m[2]:.3f})  val {ap_text(v)}  data {t_data / sched.elapsed():.0%}')
    log('[detector] final validation on the whole val split ...')
    v = evaluate(exported, val_images, val_labels, classes)
    log(f'[detector] val {ap_text(v)}  score threshold {v["bestThreshold"]:.2f}  F1 {v["f1AtThreshold"]}')
    threshold = float(min(0.4, max(0.15, v['bestThreshold'])))
    model_dir = os.path.join(out_dir, 'detector')
    outs = export_onnx(exported, H, W, os.path.join(model_dir, 'model.onnx'), ['output0'])
    write_manifest(
        model_dir, 'detector', 'detector',
        'Walkout overhead detector: person, head, hand and held item. CenterNet-style, decoded in '
        'graph to the YOLOv8 layout with one anchor plane per class: 80×60 cells for person and head, 160×120 for hand and item.',
        (H, W), 'letterbox',
        {'kind': 'detector', 'format': 'yolov8', 'name': 'output0', 'transposed': False, 'logits': False,
         'scoreThreshold': round(threshold, 2), 'nmsIou': NMS_IOU, 'maxDetections': 300},
        classes,
        rounded({
            'seed': seed,
            'dataset': {'train': len(labels), 'val': len(val_labels), 'test': n_test},
            'epochs': sched.epoch, 'stepsPerEpoch': steps_per_epoch, 'batch': batch,
            'minutes': sched.elapsed() / 60,
            'architecture': 'stride-4 stem (conv 16, depthwise 32), depthwise-separable backbone to '
                            f"stride 32 ({WIDTHS['s8']}-{WIDTHS['s16']}-{WIDTHS['s32']}), top-down merge to "
                            f"stride 8 (person, head: {WIDTHS['s8']}-channel heatmap and box towers) and "
                            f"stride 4 (hand, item: {WIDTHS['s4']}-channel towers); output " + str(outs['output0']),
            'parameters': param_count(net),
            'loss': 'penalty-reduced focal loss on Gaussian heatmaps + 2 × GIoU on Gaussian-weighted '
                    'cells; visibility < 0.3 or < 3 px: ignore regions',
            'augmentations': [f'random {CROP}×{CROP} crops (cut boxes < 50% area ignored)',
                              'horizontal flip', '90° rotations', 'brightness/contrast ±15%',
                              'per-channel gain ±8%', 'Gaussian noise σ ≤ 0.02'],
            'optimizer': f'AdamW lr {lr} wd 5e-4, linear warm-up, cosine to the time budget',
            'compute': compute.describe(),
            'validation': {'mAP50': v['mAP50'], 'AP50': v['AP50'], 'frames': v['frames'],
                           'objects': v['objects'], 'scoreThreshold': threshold,
                           'f1AtThreshold': v['f1AtThreshold']},
            'history': sched.history,
        }),
    )
    return v
