"""Held-item detector: the second look at a hand. The overhead detector proposes hands (and items);
this net looks at a WINDOW×WINDOW window of the same detect-stream frame centred on each proposal
and boxes the held item that touches the window's centre, if any.

Why a second stage: the detector shares one small network across the whole 640×480 frame at
100 frames/s, and its 16-channel stride-4 plane cannot tell a product in a hand from the same
product on the shelf beside it, nor box it well (item AP 0.27). This net spends its whole
capacity on the few windows where a hand is, with the hand at a known place.

The window is cut at the frame's own resolution (no resampling, out-of-frame pixels 114), so the
TypeScript loader reproduces it exactly. Output: the YOLOv8 layout with one class,
[1, 5, (WINDOW/4)²]: cx, cy, w, h in window pixels and the item score, peak-suppressed in graph.
A box counts for its window only when it comes within REACH pixels of the centre."""

import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (
    Compute, Schedule, cbr, colour_jitter, dw, export_onnx, log, param_count, rounded, to_input, write_manifest,
)
from detector import build_targets, decode_boxes, detection_loss, dihedral, load_split
from detector_eval import IOU, average_precision, is_ignored, match_frame, nms, postprocess

WINDOW = 80  # detect-stream pixels: 95 % of held items end within 35 px of their hand's centre
STRIDE = 4
REACH = 8.0  # px from the window centre to the item box: 99 % of hands are within 5.5 px of theirs
PAD = 114
PERSON, HAND, ITEM = 0, 2, 3  # detector class indices
# Where training windows are centred: a labelled hand or item (jittered), any point of a person,
# anywhere, or a proposal of the shipped detector (models/data/proposals.ts), false ones included.
# 15-minute runs, item AP on the validation split through the real pipeline: 0.451 with windows
# on labels, people and anywhere; 0.514 with the detector's proposals as 30 % of the windows.
PROPOSAL_MIX = (0.3, 0.2, 0.1, 0.1, 0.3)
JITTER_PX = 2.0  # σ of a proposal's centre error, as the detector's boxes have
PROPOSAL_WEIGHT = 0.5  # an item's score: its own × its proposal's ^ this (HELD_ITEM_PROPOSALS)


class HeldItemNet(nn.Module):
    """Depthwise-separable backbone to stride 16, merged back to stride 4, with the pixel's place
    in the window as two extra input channels: the net must answer for the centre only."""

    def __init__(self):
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, WINDOW), torch.linspace(-1, 1, WINDOW), indexing='ij')
        self.register_buffer('coords', torch.stack([xs, ys]).unsqueeze(0))
        self.stem = cbr(5, 24, 2)
        self.s4 = nn.Sequential(dw(24, 32, 2), dw(32, 32))
        self.s8 = nn.Sequential(dw(32, 64, 2), dw(64, 64), dw(64, 64))
        self.s16 = nn.Sequential(dw(64, 96, 2), dw(96, 96), dw(96, 96))
        self.l16, self.f8 = nn.Conv2d(96, 64, 1), dw(64, 64)
        self.l8 = nn.Conv2d(64, 32, 1)
        self.cls_tower, self.reg_tower = dw(32, 32), dw(32, 32)
        self.cls = nn.Conv2d(32, 1, 1)
        self.reg = nn.Conv2d(32, 4, 1)
        nn.init.constant_(self.cls.bias, -4.6)
        nn.init.normal_(self.reg.weight, std=0.01)
        nn.init.zeros_(self.reg.bias)

    def forward(self, x):
        x = torch.cat([x, self.coords.expand(x.shape[0], -1, -1, -1)], 1)
        x4 = self.s4(self.stem(x))
        x8 = self.s8(x4)
        x16 = self.s16(x8)
        y8 = self.f8(x8 + F.interpolate(self.l16(x16), scale_factor=2.0, mode='nearest'))
        y4 = x4 + F.interpolate(self.l8(y8), scale_factor=2.0, mode='nearest')
        return self.cls(self.cls_tower(y4)), self.reg(self.reg_tower(y4))


class Exported(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
        g = WINDOW // STRIDE
        gy, gx = torch.meshgrid(torch.arange(g, dtype=torch.float32), torch.arange(g, dtype=torch.float32), indexing='ij')
        self.register_buffer('gx', gx.reshape(1, 1, -1))
        self.register_buffer('gy', gy.reshape(1, 1, -1))

    def forward(self, x):
        logits, reg = self.net(x)
        n, _, h, w = logits.shape
        score = torch.sigmoid(logits)
        score = score * (F.max_pool2d(score, 3, 1, 1) == score).float()
        boxes = decode_boxes(reg.reshape(n, 1, 4, h * w), self.gx, self.gy, STRIDE)[:, 0]
        return torch.cat([boxes, score.reshape(n, 1, h * w)], 1)


# ---------------------------------------------------------------------------------------------
# Windows


def window(image, cx, cy):
    """The WINDOW×WINDOW window centred on the pixel nearest (cx, cy); returns it and its origin."""
    H, W = image.shape[:2]
    # floor(v + 0.5), as JavaScript's Math.round (Python's round() goes to even).
    x0, y0 = math.floor(cx + 0.5) - WINDOW // 2, math.floor(cy + 0.5) - WINDOW // 2
    out = np.full((WINDOW, WINDOW, 3), PAD, np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(W, x0 + WINDOW), min(H, y0 + WINDOW)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out, x0, y0


def box_distance(cx, cy, boxes):
    """Distance from a point to each x, y, w, h box (0 inside)."""
    dx = np.maximum(0, np.maximum(boxes[:, 0] - cx, cx - boxes[:, 0] - boxes[:, 2]))
    dy = np.maximum(0, np.maximum(boxes[:, 1] - cy, cy - boxes[:, 1] - boxes[:, 3]))
    return np.hypot(dx, dy)


def window_targets(labels, x0, y0):
    """Items in the window: those within REACH of the centre are the targets; every other item,
    and any item that is an ignore region or cut to under half by the window, is ignored."""
    items = labels[labels[:, 0] == ITEM]
    c = WINDOW / 2
    near = box_distance(x0 + c, y0 + c, items[:, 1:5]) <= REACH
    bx0, by0 = np.clip(items[:, 1] - x0, 0, WINDOW), np.clip(items[:, 2] - y0, 0, WINDOW)
    bx1, by1 = np.clip(items[:, 1] + items[:, 3] - x0, 0, WINDOW), np.clip(items[:, 2] + items[:, 4] - y0, 0, WINDOW)
    area = (bx1 - bx0) * (by1 - by0)
    ign = is_ignored(items) | ~near | (area < 0.5 * items[:, 3] * items[:, 4])
    out = np.stack([np.zeros(len(items)), bx0, by0, bx1 - bx0, by1 - by0, ign], 1).astype(np.float32)
    return out[area > 0]


def proposal(labels, proposals, image_shape, rng):
    """A training window's centre: a jittered hand or item, a point on a person, anywhere, or one
    of the detector's proposals for the frame ([N, 4]: cx, cy, score, class)."""
    kind = rng.choice(len(PROPOSAL_MIX), p=PROPOSAL_MIX)
    if kind == 4 and len(proposals):
        p = proposals[rng.integers(len(proposals))]
        return p[0], p[1]
    if kind < 3:
        cand = labels[(labels[:, 0] == (HAND, ITEM, PERSON)[kind]) & ~is_ignored(labels)]
        if len(cand):
            b = cand[rng.integers(len(cand))]
            if kind == 2:
                return b[1] + rng.random() * b[3], b[2] + rng.random() * b[4]
            j = np.clip(rng.normal(0, JITTER_PX, 2), -3 * JITTER_PX, 3 * JITTER_PX)
            return b[1] + b[3] / 2 + j[0], b[2] + b[4] / 2 + j[1]
    H, W = image_shape[:2]
    return rng.random() * W, rng.random() * H


def make_batch(images, labels, proposals, frames, rng):
    crops, heats, masks, pos = [], [], [], []
    for b, i in enumerate(frames):
        cx, cy = proposal(labels[i], proposals[i], images[i].shape, rng)
        img, x0, y0 = window(images[i], cx, cy)
        img, boxes = dihedral(img, window_targets(labels[i], x0, y0), WINDOW, rng)
        heat, mask, p = build_targets(boxes, 1, WINDOW, STRIDE)
        crops.append(img)
        heats.append(heat)
        masks.append(mask)
        pos.append(np.concatenate([np.full((len(p), 1), b, np.float32), p], 1))
    target = (torch.from_numpy(np.stack(heats)), torch.from_numpy(np.stack(masks)),
              torch.from_numpy(np.concatenate(pos)))
    return to_input(np.stack(crops)), target


# ---------------------------------------------------------------------------------------------
# The two-stage pipeline, on proposals


def detect_items(exported, image, proposals, batch=32):
    """Item boxes (x0 y0 x1 y1) and scores in frame pixels from windows centred on `proposals`
    ([N, 3]: cx, cy, score), each item scored with its proposal as models/runtime/held-item.ts
    does, merged across windows by NMS."""
    boxes, scores = [], []
    for s in range(0, len(proposals), batch):
        chunk = proposals[s:s + batch]
        wins = [window(image, cx, cy) for cx, cy, _ in chunk]
        with torch.no_grad():
            out = exported(to_input(np.stack([w[0] for w in wins]))).numpy()
        for (_, x0, y0), o, p in zip(wins, out, chunk):
            (b, sc), = postprocess(o, per_class=5)
            if not len(b):
                continue
            c = WINDOW / 2
            xywh = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
            near = box_distance(c, c, xywh) <= REACH
            boxes.append(b[near] + np.array([x0, y0, x0, y0], np.float32))
            scores.append(sc[near] * p[2] ** PROPOSAL_WEIGHT)
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    boxes, scores = np.concatenate(boxes), np.concatenate(scores)
    order = np.argsort(-scores)
    keep = nms(boxes[order], scores[order], IOU)
    return boxes[order][keep], scores[order][keep]


def label_proposals(lab, rng):
    """Proposals from the labels, for want of the detector's: every hand and item, jittered as
    the detector's boxes are, with score 1."""
    sel = lab[((lab[:, 0] == HAND) | (lab[:, 0] == ITEM)) & ~is_ignored(lab)]
    c = sel[:, 1:3] + sel[:, 3:5] / 2
    c = c + np.clip(rng.normal(0, JITTER_PX, c.shape), -3 * JITTER_PX, 3 * JITTER_PX)
    return np.concatenate([c, np.ones((len(c), 1), np.float32)], 1)


def evaluate(exported, images, labels, proposals=None, limit=None, seed=0):
    """Item AP@0.5 of the two stages on the detector's proposals when given (as `models:eval`
    measures it), else on proposals from the labels (an upper bound); and the score threshold
    with the best F1, the manifest's operating point."""
    frames = np.arange(len(labels))
    if limit is not None and limit < len(labels):
        frames = np.unique(np.linspace(0, len(labels) - 1, limit).round().astype(int))
    rng = np.random.default_rng(seed)
    exported.eval()
    dets, n_gt = [], 0
    for i in frames:
        lab = labels[i]
        props = proposals[i][:, :3] if proposals is not None else label_proposals(lab, rng)
        boxes, scores = detect_items(exported, images[i], props)
        n_gt += match_frame(boxes, scores, lab[lab[:, 0] == ITEM], dets)
    d = np.array(sorted(dets, key=lambda t: -t[0])).reshape(-1, 2)
    grid = np.arange(0.1, 0.75, 0.05)
    f1 = [2 * d[d[:, 0] >= t, 1].sum() / max(1, (d[:, 0] >= t).sum() + n_gt) for t in grid]
    return {'AP50': average_precision(d, n_gt), 'frames': len(frames), 'objects': n_gt,
            'bestThreshold': float(grid[int(np.argmax(f1))]), 'f1AtThreshold': float(max(f1)),
            'proposals': 'detector' if proposals is not None else 'labels'}


# ---------------------------------------------------------------------------------------------


def load_proposals(data_dir, split, frames):
    """The shipped detector's proposals per frame of a split (models/data/proposals.ts), or None
    with a warning."""
    path = os.path.join(data_dir, 'detector', split, 'proposals.jsonl')
    if not os.path.exists(path):
        log(f'[held-item] warning: no {path} (tsx models/data/proposals.ts): '
            + ('training without the detector\'s proposals, which costs about 0.06 item AP' if split == 'train'
               else 'validating on proposals from the labels'))
        return None, None
    with open(path) as f:
        rows = [np.array(json.loads(line)['proposals'], np.float32).reshape(-1, 4) for line in f if line.strip()]
    if len(rows) != frames:
        raise SystemExit(f'{path} has {len(rows)} frames, the {split} split {frames}: run tsx models/data/proposals.ts')
    with open(os.path.join(os.path.dirname(path), 'proposals.json')) as f:
        return rows, json.load(f)


def train(meta, data_dir, out_dir, seed, minutes, batch=64, lr=3e-3, quick_val=150):
    images, labels = load_split(data_dir, 'train')
    proposals, proposals_from = load_proposals(data_dir, 'train', len(labels))
    if proposals is None:
        proposals = [np.zeros((0, 4), np.float32)] * len(labels)
    val_images, val_labels = load_split(data_dir, 'val')
    val_proposals, _ = load_proposals(data_dir, 'val', len(val_labels))
    n_test = sum(1 for line in open(os.path.join(data_dir, 'detector', 'test', 'labels.jsonl')) if line.strip())
    log(f'[held-item] {len(labels)} train frames ({sum(len(p) for p in proposals)} detector proposals), '
        f'{len(val_labels)} val; {minutes:.1f} min budget')
    rng = np.random.default_rng(seed)
    compute = Compute('held-item')
    net = compute.module(HeldItemNet())
    exported = Exported(net)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps_per_epoch = max(20, len(labels) // batch)
    sched = Schedule('held-item', opt, lr, minutes, steps_per_epoch, warmup_steps=100)
    while not sched.done():
        net.train()
        losses, order = [], rng.permutation(len(labels))
        for s in range(steps_per_epoch):
            frames = order[(np.arange(batch) + s * batch) % len(order)]
            x, target = make_batch(images, labels, proposals, frames, rng)
            x = colour_jitter(x, brightness=0.15, contrast=0.15, gain=0.08, noise=0.02)
            with compute.autocast():
                logits, reg = net(compute.input(x))
            loss, hl, rl = detection_loss(logits.float(), reg.float(), *target, STRIDE)
            going = sched.step()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            losses.append((loss.item(), hl.item(), rl.item()))
            if not going:
                break
        v = evaluate(exported, val_images, val_labels, val_proposals, limit=quick_val)
        m = np.mean(losses, 0)
        sched.end_epoch(m[0], f'(heat {m[1]:.3f} giou {m[2]:.3f})  val item AP {v["AP50"]:.3f} on {v["proposals"]} proposals')
    log('[held-item] final validation on the whole val split ...')
    v = evaluate(exported, val_images, val_labels, val_proposals)
    log(f'[held-item] val item AP {v["AP50"]:.3f} on {v["proposals"]} proposals ({v["objects"]} items), '
        f'best F1 {v["f1AtThreshold"]:.3f} at score {v["bestThreshold"]:.2f}')
    model_dir = os.path.join(out_dir, 'held-item')
    outs = export_onnx(exported, WINDOW, WINDOW, os.path.join(model_dir, 'model.onnx'), ['output0'])
    write_manifest(
        model_dir, 'held-item', 'held-item',
        'Walkout held-item detector: the item held by the hand at the centre of a window of the '
        'detect-stream frame, in the YOLOv8 layout with one class.',
        (WINDOW, WINDOW), 'window',
        {'kind': 'held-item', 'format': 'yolov8', 'name': 'output0', 'reachPx': REACH,
         'scoreThreshold': round(v['bestThreshold'], 2), 'nmsIou': IOU},
        ['item'],
        rounded({
            'seed': seed,
            'dataset': {'train': len(labels), 'val': len(val_labels), 'test': n_test},
            'epochs': sched.epoch, 'stepsPerEpoch': steps_per_epoch, 'batch': batch,
            'minutes': sched.elapsed() / 60,
            'architecture': 'pixel coordinates as 2 extra channels, conv 24 stride 2, depthwise-'
                            'separable to stride 16 (32-64-96), merged back to stride 4 (32-channel '
                            'heatmap and box towers); output ' + str(outs['output0']),
            'parameters': param_count(net),
            'loss': 'penalty-reduced focal loss on Gaussian heatmaps + 2 × GIoU; targets: items '
                    f'within {REACH} px of the centre, other items ignored',
            'windows': {'mix': dict(zip(['hand', 'item', 'person', 'anywhere', 'detector proposal'], PROPOSAL_MIX)),
                        'labelJitterPx': JITTER_PX, 'proposalsFrom': proposals_from},
            'augmentations': ['flips and 90° rotations', 'brightness/contrast ±15%',
                              'per-channel gain ±8%', 'Gaussian noise σ ≤ 0.02'],
            'optimizer': f'AdamW lr {lr} wd 5e-4, linear warm-up, cosine to the time budget',
            'compute': compute.describe(),
            'validation': {'itemAP50': v['AP50'], 'proposals': v['proposals'], 'frames': v['frames'],
                           'objects': v['objects'], 'scoreThreshold': v['bestThreshold'],
                           'f1AtThreshold': v['f1AtThreshold']},
            'history': sched.history,
        }),
    )
    return v
