"""Held-item detector: the second look at a hand. The overhead detector proposes hands (and items);
this net looks at a window of the camera's main stream centred on each proposal and boxes the held
item that touches the window's centre, if any.

Why a second stage: the detector shares one small network across the whole 640×480 frame at
100 frames/s, and its 16-channel stride-4 plane cannot tell a product in a hand from the same
product on the shelf beside it, nor box it well (item AP 0.27). This net spends its whole
capacity on the few windows where a hand is, with the hand at a known place.

Why the main stream: at 3 m through a 115° lens a held item is 6–14 detect-stream pixels, and
IoU 0.5 on an 8 px box leaves 1–2 px of error. The windows are read at twice the detect stream's
resolution (models/data/windows.ts, HELD_ITEM_WINDOW: 56 detect-stream pixels a side, 112 input
pixels), as the edge reads them from the camera (region.jpg). They are drawn once by
`npm run models:data` (detector/{split}/held-item/), so training cuts nothing; the boxes learnt
are the detect-stream labels, scaled, so the model answers in the pixels it is scored in.

Output: the YOLOv8 layout with one class, [1, 5, (input/4)²]: cx, cy, w, h in input pixels and the
item score, peak-suppressed in graph. A box counts for its window only when it comes within REACH
detect-stream pixels of the centre."""

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (
    Compute, Schedule, cbr, colour_jitter, dw, export_onnx, log, param_count, read_json, read_u8, rounded,
    to_input, write_manifest,
)
from detector import build_targets, decode_boxes, detection_loss, dihedral, load_split
from detector_eval import IOU, average_precision, is_ignored, match_frame, nms, postprocess

STRIDE = 4
REACH = 8.0  # detect-stream px from the window centre to the item box: 99 % of hands are within 5.5 px of theirs
PAD = 114
ITEM = 3  # detector class index
PROPOSAL_WEIGHT = 0.5  # an item's score: its own × its proposal's ^ this (HELD_ITEM_PROPOSALS)


class HeldItemNet(nn.Module):
    """Depthwise-separable backbone to stride 16, merged back to stride 4, with the pixel's place
    in the window as two extra input channels: the net must answer for the centre only.

    48-96-160 channels (140 k parameters), not 32-64-96 (60 k): the narrower net scored its own
    training frames barely above test (two stages 0.839 against 0.816), and this one, trained the
    same 16 minutes in fewer epochs (12 against 18, beside other work), reached validation item AP
    0.862 on its windows against 0.842."""

    def __init__(self, size):
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing='ij')
        self.register_buffer('coords', torch.stack([xs, ys]).unsqueeze(0))
        self.stem = cbr(5, 24, 2)
        self.s4 = nn.Sequential(dw(24, 48, 2), dw(48, 48))
        self.s8 = nn.Sequential(dw(48, 96, 2), dw(96, 96), dw(96, 96))
        self.s16 = nn.Sequential(dw(96, 160, 2), dw(160, 160), dw(160, 160))
        self.l16, self.f8 = nn.Conv2d(160, 96, 1), dw(96, 96)
        self.l8 = nn.Conv2d(96, 48, 1)
        self.cls_tower, self.reg_tower = dw(48, 48), dw(48, 48)
        self.cls = nn.Conv2d(48, 1, 1)
        self.reg = nn.Conv2d(48, 4, 1)
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


# A window seen from above has no up: the exported graph looks at it in the 8 flips and quarter turns
# (as one batch) and averages the heatmaps and boxes, mapped back. Measured with one trained net on
# the validation split's two stages: item AP 0.836 with one view, 0.841 with two (flipped), 0.849
# with four (flips), 0.854 with eight; each view costs another pass.
VIEWS = tuple((quarter_turns, flip) for flip in (False, True) for quarter_turns in range(4))


def rot90(t, k):
    """torch.rot90 over the last two dims, from ops ONNX opset 13 has (flip, transpose)."""
    k %= 4
    if k == 1:
        return t.flip(3).transpose(2, 3)
    if k == 2:
        return t.flip(2).flip(3)
    if k == 3:
        return t.flip(2).transpose(2, 3)
    return t


def to_view(t, view):
    k, flip = view
    return rot90(t.flip(3) if flip else t, k)


def from_view(t, view):
    k, flip = view
    t = rot90(t, -k)
    return t.flip(3) if flip else t


def point_from_view(u, v, view, size):
    """A point (u, v) in a view's pixels, in the window's: to_view undone on coordinates."""
    k, flip = view
    for _ in range(k):
        u, v = size - v, u
    return (size - u if flip else u), v


class Exported(nn.Module):
    """The graph as shipped: sigmoid, box decoding and 3×3 peak suppression over the mean of
    `views` of the window (VIEWS when exported; one while training, where speed matters)."""

    def __init__(self, net, size, views=((0, False),)):
        super().__init__()
        self.net, self.size, self.views = net, size, tuple(views)
        g = size // STRIDE
        gy, gx = torch.meshgrid(torch.arange(g, dtype=torch.float32), torch.arange(g, dtype=torch.float32), indexing='ij')
        self.register_buffer('gx', gx.reshape(1, 1, -1))
        self.register_buffer('gy', gy.reshape(1, 1, -1))

    def forward(self, x):
        n, v = x.shape[0], len(self.views)
        logits, reg = self.net(torch.cat([to_view(x, view) for view in self.views], 0))
        _, _, h, w = logits.shape
        b = decode_boxes(reg.reshape(n * v, 1, 4, h * w), self.gx, self.gy, STRIDE)[:, 0].reshape(n * v, 4, h, w)
        score, corners = 0, 0
        for i, view in enumerate(self.views):
            part = slice(i * n, (i + 1) * n)
            bi = b[part]
            # Opposite corners of each cell's box, back in the window's pixels: a box still.
            ua, va = point_from_view(bi[:, 0] - bi[:, 2] / 2, bi[:, 1] - bi[:, 3] / 2, view, self.size)
            ub, vb = point_from_view(bi[:, 0] + bi[:, 2] / 2, bi[:, 1] + bi[:, 3] / 2, view, self.size)
            box = torch.stack([torch.min(ua, ub), torch.min(va, vb), torch.max(ua, ub), torch.max(va, vb)], 1)
            score = score + from_view(torch.sigmoid(logits[part]), view)
            corners = corners + from_view(box, view)
        score, c = score / v, corners / v
        score = score * (F.max_pool2d(score, 3, 1, 1) == score).float()
        boxes = torch.stack([(c[:, 0] + c[:, 2]) / 2, (c[:, 1] + c[:, 3]) / 2, c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]], 1)
        return torch.cat([boxes.reshape(n, 4, h * w), score.reshape(n, 1, h * w)], 1)


# ---------------------------------------------------------------------------------------------
# Windows (drawn by models/data/windows.ts)


def load_windows(data_dir, split):
    """A split's main-stream windows: pixels [N, S, S, 3], rows (frame, x, y, score) and the record
    (sidePx, scale, inputPx, how they were placed)."""
    d = os.path.join(data_dir, 'detector', split, 'held-item')
    path = os.path.join(d, 'windows.json')
    if not os.path.exists(path):
        raise SystemExit(f'no {path}: the held-item model needs the main-stream windows of '
                         '`npm run models:data` (or tsx models/data/windows.ts)')
    record = read_json(path)
    with open(os.path.join(d, 'windows.jsonl')) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    table = np.array([[r['frame'], r['x'], r['y'], r['score']] for r in rows], np.float32).reshape(-1, 4)
    size = record['inputPx']
    pixels = read_u8(os.path.join(d, 'windows.u8'), size, size, len(rows), mmap=True)
    return pixels, table, record


def window_targets(labels, x0, y0, scale, size):
    """Items of the frame in a window with origin (x0, y0) in detect-stream pixels, in input
    pixels: those within REACH of the centre are the targets; every other item, and any item that
    is an ignore region or cut to under half by the window, is ignored."""
    items = labels[labels[:, 0] == ITEM]
    b = np.stack([(items[:, 1] - x0) * scale, (items[:, 2] - y0) * scale, items[:, 3] * scale, items[:, 4] * scale], 1)
    c = size / 2
    near = box_distance(c, c, b) <= REACH * scale
    bx0, by0 = np.clip(b[:, 0], 0, size), np.clip(b[:, 1], 0, size)
    bx1, by1 = np.clip(b[:, 0] + b[:, 2], 0, size), np.clip(b[:, 1] + b[:, 3], 0, size)
    area = (bx1 - bx0) * (by1 - by0)
    ign = is_ignored(items) | ~near | (area < 0.5 * b[:, 2] * b[:, 3])
    out = np.stack([np.zeros(len(items)), bx0, by0, bx1 - bx0, by1 - by0, ign], 1).astype(np.float32)
    return out[area > 0]


def box_distance(cx, cy, boxes):
    """Distance from a point to each x, y, w, h box (0 inside)."""
    dx = np.maximum(0, np.maximum(boxes[:, 0] - cx, cx - boxes[:, 0] - boxes[:, 2]))
    dy = np.maximum(0, np.maximum(boxes[:, 1] - cy, cy - boxes[:, 1] - boxes[:, 3]))
    return np.hypot(dx, dy)


def make_batch(pixels, table, labels, idx, scale, rng):
    size = pixels.shape[1]
    crops, heats, masks, pos = [], [], [], []
    for b, w in enumerate(idx):
        frame, x0, y0 = int(table[w, 0]), table[w, 1], table[w, 2]
        img, boxes = dihedral(np.asarray(pixels[w]), window_targets(labels[frame], x0, y0, scale, size), size, rng)
        heat, mask, p = build_targets(boxes, 1, size, STRIDE)
        crops.append(img)
        heats.append(heat)
        masks.append(mask)
        pos.append(np.concatenate([np.full((len(p), 1), b, np.float32), p], 1))
    target = (torch.from_numpy(np.stack(heats)), torch.from_numpy(np.stack(masks)),
              torch.from_numpy(np.concatenate(pos)))
    return to_input(np.stack(crops)), target


# ---------------------------------------------------------------------------------------------
# The two stages, on the validation windows (one per detector proposal)


def evaluate(exported, pixels, table, labels, scale, limit=None, batch=64):
    """Item AP@0.5 of the two stages over the frames whose windows are given, as `models:eval`
    measures it: each window's items within reach of its centre, in detect-stream pixels, scored
    with its proposal's score, merged per frame by NMS; and the score threshold with the best F1."""
    size = pixels.shape[1]
    frames = np.arange(len(labels))
    if limit is not None and limit < len(labels):
        frames = np.unique(np.linspace(0, len(labels) - 1, limit).round().astype(int))
    by_frame = {int(f): [] for f in frames}
    for w, f in enumerate(table[:, 0].astype(int)):
        if f in by_frame:
            by_frame[f].append(w)
    chosen = np.array(sorted(w for ws in by_frame.values() for w in ws), int)
    found = {f: ([], []) for f in by_frame}
    exported.eval()
    c = size / 2
    with torch.no_grad():
        for s in range(0, len(chosen), batch):
            idx = chosen[s:s + batch]
            out = exported(to_input(np.asarray(pixels[idx]))).numpy()
            for w, o in zip(idx, out):
                (b, sc), = postprocess(o, per_class=5)
                if not len(b):
                    continue
                xywh = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
                near = box_distance(c, c, xywh) <= REACH * scale
                f, x0, y0, score = int(table[w, 0]), table[w, 1], table[w, 2], table[w, 3]
                found[f][0].append(b[near] / scale + np.array([x0, y0, x0, y0], np.float32))
                found[f][1].append(sc[near] * score ** PROPOSAL_WEIGHT)
    dets, n_gt = [], 0
    for f in frames:
        boxes, scores = found[int(f)]
        boxes = np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)
        scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
        order = np.argsort(-scores)
        keep = nms(boxes[order], scores[order], IOU) if len(order) else []
        lab = labels[f]
        n_gt += match_frame(boxes[order][keep], scores[order][keep], lab[lab[:, 0] == ITEM], dets)
    d = np.array(sorted(dets, key=lambda t: -t[0])).reshape(-1, 2)
    grid = np.arange(0.1, 0.75, 0.05)
    f1 = [2 * d[d[:, 0] >= t, 1].sum() / max(1, (d[:, 0] >= t).sum() + n_gt) for t in grid]
    return {'AP50': average_precision(d, n_gt), 'frames': len(frames), 'objects': n_gt,
            'bestThreshold': float(grid[int(np.argmax(f1))]), 'f1AtThreshold': float(max(f1))}


# ---------------------------------------------------------------------------------------------


def train(meta, data_dir, out_dir, seed, minutes, batch=64, lr=3e-3, quick_val=150):
    _, labels = load_split(data_dir, 'train')
    _, val_labels = load_split(data_dir, 'val')
    pixels, table, record = load_windows(data_dir, 'train')
    val_pixels, val_table, val_record = load_windows(data_dir, 'val')
    size, scale = record['inputPx'], record['scale']
    if (val_record['inputPx'], val_record['scale']) != (size, scale):
        raise SystemExit(f'held-item windows differ between train and val: rebuild them (tsx models/data/windows.ts)')
    n_test = sum(1 for line in open(os.path.join(data_dir, 'detector', 'test', 'labels.jsonl')) if line.strip())
    log(f'[held-item] {len(table)} train windows ({record["kinds"]}) over {len(labels)} frames, '
        f'{len(val_table)} val windows on {val_record["kinds"].get("proposal", 0)} detector proposals; '
        f'{record["sidePx"]} px at {scale}× = {size} px; {minutes:.1f} min budget')
    rng = np.random.default_rng(seed)
    compute = Compute('held-item')
    net = compute.module(HeldItemNet(size))
    exported = Exported(net, size)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps_per_epoch = max(20, len(table) // batch)
    sched = Schedule('held-item', opt, lr, minutes, steps_per_epoch, warmup_steps=100)
    while not sched.done():
        net.train()
        losses, order = [], rng.permutation(len(table))
        for s in range(steps_per_epoch):
            idx = np.sort(order[(np.arange(batch) + s * batch) % len(order)])  # sorted: sequential reads
            x, target = make_batch(pixels, table, labels, idx, scale, rng)
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
        v = evaluate(exported, val_pixels, val_table, val_labels, scale, limit=quick_val)
        m = np.mean(losses, 0)
        sched.end_epoch(m[0], f'(heat {m[1]:.3f} giou {m[2]:.3f})  val item AP {v["AP50"]:.3f}')
    log(f'[held-item] final validation on the whole val split, {len(VIEWS)} views a window ...')
    shipped = Exported(net, size, VIEWS)
    v = evaluate(shipped, val_pixels, val_table, val_labels, scale)
    log(f'[held-item] val item AP {v["AP50"]:.3f} on detector proposals ({v["objects"]} items), '
        f'best F1 {v["f1AtThreshold"]:.3f} at score {v["bestThreshold"]:.2f}')
    model_dir = os.path.join(out_dir, 'held-item')
    outs = export_onnx(shipped, size, size, os.path.join(model_dir, 'model.onnx'), ['output0'])
    write_manifest(
        model_dir, 'held-item', 'held-item',
        'Walkout held-item detector: the item held by the hand at the centre of a window of the '
        f'camera main stream ({record["sidePx"]} detect-stream pixels at {scale}×), in the YOLOv8 layout with one class.',
        (size, size), 'window',
        {'kind': 'held-item', 'format': 'yolov8', 'name': 'output0', 'reachPx': REACH * scale,
         'mainStreamScale': scale, 'scoreThreshold': round(v['bestThreshold'], 2), 'nmsIou': IOU},
        ['item'],
        rounded({
            'seed': seed,
            'dataset': {'train': len(labels), 'val': len(val_labels), 'test': n_test,
                        'trainWindows': len(table), 'valWindows': len(val_table)},
            'epochs': sched.epoch, 'stepsPerEpoch': steps_per_epoch, 'batch': batch,
            'minutes': sched.elapsed() / 60,
            'architecture': 'pixel coordinates as 2 extra channels, conv 24 stride 2, depthwise-'
                            'separable to stride 16 (48-96-160), merged back to stride 4 (48-channel '
                            'heatmap and box towers); the graph averages its heatmaps and boxes over the '
                            f'window\'s {len(VIEWS)} flips and quarter turns (one batch); output ' + str(outs['output0']),
            'parameters': param_count(net),
            'loss': 'penalty-reduced focal loss on Gaussian heatmaps + 2 × GIoU; targets: items '
                    f'within {REACH} detect-stream px of the centre, other items ignored',
            'windows': {k: record[k] for k in ('sidePx', 'scale', 'mix', 'jitterPx', 'kinds', 'proposals')},
            'augmentations': ['flips and 90° rotations', 'brightness/contrast ±15%',
                              'per-channel gain ±8%', 'Gaussian noise σ ≤ 0.02'],
            'optimizer': f'AdamW lr {lr} wd 5e-4, linear warm-up, cosine to the time budget',
            'compute': compute.describe(),
            'validation': {'itemAP50': v['AP50'], 'proposals': 'detector', 'frames': v['frames'],
                           'objects': v['objects'], 'scoreThreshold': v['bestThreshold'],
                           'f1AtThreshold': v['f1AtThreshold']},
            'history': sched.history,
        }),
    )
    return v
