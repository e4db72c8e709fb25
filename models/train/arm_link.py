"""The arm-link model: is this hand the arm of the person whose head this is?

Input: a strip of the detect-stream frame along the line from a hand's centre towards a head's
centre, at the frame's own resolution (models/runtime/arm-link.ts), the hand `HAND_AT` pixels from
the left on the middle row. Output: the probability that both are one person. Trained on strips
that `npm run models:arm-data` draws from simulations, each labelled from the simulator's truth.

    /usr/bin/python3 models/train/arm_link.py --data DIR [--minutes M] [--test NAME,...] [--out models/arm-link]

Files of DIR: NAME.bin (uint8 strips, N × 48 × 160 × 3) and NAME.csv (label, reaching, dist, handPx,
hot, hand); runs named in --test are held out and scored, the rest are trained on.
"""

import argparse
import glob
import os
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import cbr, export_onnx, fmt_time, log, param_count, python_info, rounded, seed_everything, to_input, write_manifest

H, W, HAND_AT = 48, 160, 16


def load(names):
    xs, rows = [], []
    for n in names:
        b = np.fromfile(n + '.bin', dtype=np.uint8)
        k = b.size // (H * W * 3)
        if b.size != k * H * W * 3:
            raise SystemExit(f'{n}.bin: not a whole number of {W}×{H} strips')
        with open(n + '.csv') as f:
            next(f)
            r = [line.strip().split(',') for line in f]
        if len(r) != k:
            raise SystemExit(f'{n}.csv lists {len(r)} strips, {n}.bin holds {k}')
        xs.append(b.reshape(k, H, W, 3))
        rows += [(int(a[0]), int(a[1]), float(a[2]), os.path.basename(n) + ':' + a[5]) for a in r]
    return (np.concatenate(xs) if xs else np.zeros((0, H, W, 3), np.uint8)), rows


class ArmLinkNet(nn.Module):
    """Four stride-2 stages to 3 × 10 cells, kept in place (where along the strip the arm runs
    matters, so no global pooling), then two dense layers; sigmoid in the graph."""

    def __init__(self):
        super().__init__()
        chans = [3, 16, 32, 48, 64]
        self.features = nn.Sequential(*[nn.Sequential(cbr(a, b, 2), cbr(b, b)) for a, b in zip(chans, chans[1:])])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 3 * 10, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))

    def logits(self, x):
        return self.head(self.features(x)).squeeze(1)

    def forward(self, x):
        return torch.sigmoid(self.head(self.features(x)))


def batch(X, idx, augment):
    x = to_input(X[idx])
    if augment:
        # The strip's two sides are mirror images of one scene; light varies by store and hour.
        flip = torch.rand(len(idx)) < 0.5
        x[flip] = x[flip].flip(2)
        n = len(idx)
        x = x * (0.8 + 0.4 * torch.rand(n, 1, 1, 1)) + 0.08 * (torch.rand(n, 3, 1, 1) - 0.5)
    return x


def predict(net, X):
    net.eval()
    with torch.no_grad():
        return np.concatenate([torch.sigmoid(net.logits(batch(X, np.arange(i, min(i + 512, len(X))), False))).numpy()
                               for i in range(0, len(X), 512)]) if len(X) else np.zeros(0)


def score(p, rows, accept, reject):
    """Per reaching hand with two heads or more, one of them its own: the model's decision."""
    y = np.array([r[0] for r in rows])
    hands = defaultdict(list)
    for i, r in enumerate(rows):
        if r[1]:
            hands[r[3]].append(i)
    out = {'hands': 0, 'argmaxRight': 0, 'decided': 0, 'decidedRight': 0, 'nearestRight': 0}
    for idx in hands.values():
        if len(idx) < 2 or not any(y[i] for i in idx):
            continue
        out['hands'] += 1
        best = max(idx, key=lambda i: p[i])
        out['argmaxRight'] += int(y[best])
        out['nearestRight'] += int(y[min(idx, key=lambda i: rows[i][2])])
        ps = sorted((p[i] for i in idx), reverse=True)
        if ps[0] >= accept and ps[1] <= reject:
            out['decided'] += 1
            out['decidedRight'] += int(y[best])
    reach = np.array([r[1] for r in rows]) == 1
    out['pairAccuracy'] = float(((p > 0.5) == y).mean()) if len(y) else 0.0
    out['reachingPairAccuracy'] = float(((p[reach] > 0.5) == y[reach]).mean()) if reach.any() else 0.0
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'arm-link'))
    ap.add_argument('--minutes', type=float, default=15)
    ap.add_argument('--test', default='')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    names = sorted(p[:-4] for p in glob.glob(os.path.join(args.data, '*.bin')))
    test_set = {t for t in args.test.split(',') if t}
    train_names = [n for n in names if os.path.basename(n) not in test_set]
    test_names = [n for n in names if os.path.basename(n) in test_set]
    Xtr, Rtr = load(train_names)
    Xte, Rte = load(test_names)
    ytr = torch.tensor([r[0] for r in Rtr], dtype=torch.float32)
    # Hands at a shelf are what attribution asks about: they count three times.
    wtr = torch.tensor([3.0 if r[1] else 1.0 for r in Rtr])
    log(f'train {len(Rtr)} strips ({int(ytr.sum())} own, {sum(r[1] for r in Rtr)} at a shelf), test {len(Rte)}')
    net = ArmLinkNet()
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    budget = args.minutes * 60
    t0 = time.time()
    epochs = 0
    while time.time() - t0 < budget:
        net.train()
        perm = np.random.permutation(len(Rtr))
        total = 0.0
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            # Cosine decay over the wall-clock budget.
            for g in opt.param_groups:
                g['lr'] = 2e-3 * 0.5 * (1 + np.cos(np.pi * min(1.0, (time.time() - t0) / budget)))
            loss = (F.binary_cross_entropy_with_logits(net.logits(batch(Xtr, idx, True)), ytr[idx], reduction='none')
                    * wtr[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            if time.time() - t0 > budget:
                break
        epochs += 1
        log(f'epoch {epochs}: loss {total / len(perm):.4f}, {fmt_time(time.time() - t0)} of {fmt_time(budget)}')
    accept, reject = 0.7, 0.3
    metrics = score(predict(net, Xte), Rte, accept, reject) if Rte else {}
    log(f'test: {metrics}')
    os.makedirs(args.out, exist_ok=True)
    export_onnx(net, H, W, os.path.join(args.out, 'model.onnx'), ['probability'])
    write_manifest(
        args.out, 'arm-link', 'arm-link',
        'Walkout arm-link model: the probability that a hand and a head in an overhead frame are one '
        'person, from a strip of the frame along the line joining them.',
        (H, W), 'strip', {'kind': 'arm-link', 'name': 'probability', 'handAtPx': HAND_AT}, ['same-person'],
        {
            'seed': args.seed, 'epochs': epochs, 'minutes': round((time.time() - t0) / 60, 2),
            'strips': {'train': len(Rtr), 'test': len(Rte)}, 'train': [os.path.basename(n) for n in train_names],
            'test': [os.path.basename(n) for n in test_names], 'parameters': param_count(net),
            'loss': 'binary cross-entropy, strips of hands at a shelf weighted 3', 'python': python_info(),
        },
    )
    import json
    mpath = os.path.join(args.out, 'manifest.json')
    with open(mpath) as f:
        m = json.load(f)
    m['metrics'] = rounded({'test': metrics, 'accept': accept, 'reject': reject})
    with open(mpath, 'w') as f:
        json.dump(m, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
