"""Person re-identification embedding: 64×64 person crop → 64-d L2-normalised appearance vector,
used to hand a shopper over between cameras.

Trained with identity classification (cosine softmax over the training identities, which
shapes the space) plus a batch-hard triplet loss on P identities × K crops per batch (which
directly asks that the farthest view of a person be nearer than anybody else).
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

from common import (
    Compute, CosineHead, EmbedNet, Schedule, colour_jitter, export_onnx, log, margin_softmax_loss, param_count,
    random_affine, read_json, read_u8, rounded, to_input, write_manifest,
)

# Measured over 6 minutes: widths 24…192 reached val rank-1 0.52 where 32…256 reached 0.50
# (clothing colour needs less detail than product patterns; the narrower net sees more data).
# For the same reason the net sees the crop at half resolution: over 6 minutes on a shared
# machine, 0.566 at 32×32 (6 epochs) against 0.489 at 64×64 (2 epochs).
WIDTHS = (24, 48, 96, 192)
HALF = True
DIM = 64
SCALE, MARGIN = 16.0, 0.1
TRIPLET_MARGIN = 0.3
P, K = 32, 4


def with_head(lab):
    """Indices of the crops that show the person's head: the ones re-id learns and is scored on
    (a crop of legs alone says too little; see REID_MIN_HEAD_VISIBILITY in models/data/sample.ts)."""
    if 'heads' not in lab:
        raise SystemExit('the re-id labels have no "heads": the dataset predates it, run `npm run models:data`')
    return np.nonzero(np.array(lab['heads'], bool))[0]


def load_split(data_dir, split, size):
    d = os.path.join(data_dir, 'reid', split)
    lab = read_json(os.path.join(d, 'labels.json'))
    keep = with_head(lab)
    ids, cams, scenes = (np.array(lab[k], np.int64)[keep] for k in ('ids', 'cameras', 'scenes'))
    crops = read_u8(os.path.join(d, 'crops.u8'), size, size, len(lab['ids']))[keep]
    return torch.from_numpy(np.ascontiguousarray(crops)), ids, cams, scenes


def augment(u8):
    # Overhead: flips and quarter turns are all valid views (a stretched crop turned 90° is what
    # the turned person's box would give). Colour jitter is mild: clothing colour is the cue.
    x = random_affine(to_input(u8), max_angle=10, scale=(0.9, 1.1), shift=0.08)
    return colour_jitter(x, brightness=0.08, contrast=0.08, gain=0.03, noise=0.015)


def batch_hard_triplet(emb, labels, margin):
    dist = (2 - 2 * emb @ emb.t()).clamp(min=1e-9).sqrt()
    same = labels[:, None] == labels[None, :]
    hardest_pos = (dist * same.float()).max(1).values
    hardest_neg = (dist + same.float() * 1e3).min(1).values
    return F.relu(hardest_pos - hardest_neg + margin).mean()


def embed(net, crops, batch=256):
    net.eval()
    with torch.no_grad():
        return torch.cat([net(to_input(crops[s:s + batch])) for s in range(0, len(crops), batch)])


def rank1(emb, ids, cams, scenes):
    """Each crop as a query against the crops of its scene seen by other cameras; correct if
    the nearest one is the same person. Queries whose person no other camera saw are skipped."""
    hits = total = 0
    for sc in np.unique(scenes):
        sel = np.nonzero(scenes == sc)[0]
        sim = (emb[sel] @ emb[sel].t()).numpy()
        other = cams[sel][:, None] != cams[sel][None, :]
        same = ids[sel][:, None] == ids[sel][None, :]
        answerable = (same & other).any(1)
        sim[~other] = -np.inf
        best = sim.argmax(1)
        hits += int((same[np.arange(len(sel)), best] & answerable).sum())
        total += int(answerable.sum())
    return hits / max(1, total), total


def train(meta, data_dir, out_dir, seed, minutes, lr=3e-3):
    size = meta['reid']['size']
    crops, ids, cams, scenes = load_split(data_dir, 'train', size)
    val_crops, val_ids, val_cams, val_scenes = load_split(data_dir, 'val', size)
    n_test = len(with_head(read_json(os.path.join(data_dir, 'reid', 'test', 'labels.json'))))
    uniq, target = np.unique(ids, return_inverse=True)
    members = [np.nonzero(target == i)[0] for i in range(len(uniq))]
    # A person seen once teaches the triplet nothing; they still serve as others' negatives
    # through the classification loss, but P×K batches draw only people with two or more crops.
    multi = np.array([i for i, m in enumerate(members) if len(m) >= 2])
    log(f'[reid] {len(ids)} train crops of {len(uniq)} people ({len(multi)} seen twice or more), '
        f'{len(val_ids)} val crops in {len(np.unique(val_scenes))} scenes, {n_test} test; {minutes:.1f} min budget')
    if len(multi) < P:
        raise SystemExit(f'reid: only {len(multi)} training identities have two crops; need {P}')

    compute = Compute('reid')
    net, head = compute.module(EmbedNet(WIDTHS, DIM, centre=True, half=HALF)), CosineHead(DIM, len(uniq))
    params = list(net.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=5e-4)
    steps_per_epoch = max(10, len(ids) // (P * K))
    sched = Schedule('reid', opt, lr, minutes, steps_per_epoch, warmup_steps=100)
    rng = np.random.default_rng(seed)
    target_t = torch.from_numpy(target)
    while not sched.done():
        net.train()
        losses = []
        for _ in range(steps_per_epoch):
            people = rng.choice(multi, P, replace=False)
            idx = np.concatenate([rng.choice(members[p], K, replace=len(members[p]) < K) for p in people])
            idx = torch.from_numpy(idx)
            with compute.autocast():
                emb = net(compute.input(augment(crops[idx]))).float()
            y = target_t[idx]
            id_loss = margin_softmax_loss(head(emb), y, SCALE, MARGIN)
            tri_loss = batch_hard_triplet(emb, y, TRIPLET_MARGIN)
            loss = id_loss + tri_loss
            going = sched.step()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append((loss.item(), id_loss.item(), tri_loss.item()))
            if not going:
                break
        r1, n_q = rank1(embed(net, val_crops), val_ids, val_cams, val_scenes)
        m = np.mean(losses, 0)
        sched.end_epoch(m[0], f'(id {m[1]:.3f} triplet {m[2]:.3f})  val rank-1 {r1:.4f} ({n_q} queries)')

    r1, n_q = rank1(embed(net, val_crops), val_ids, val_cams, val_scenes)
    log(f'[reid] val rank-1 {r1:.4f} over {n_q} queries')
    model_dir = os.path.join(out_dir, 'reid')
    export_onnx(net, size, size, os.path.join(model_dir, 'model.onnx'), ['embedding'])
    write_manifest(
        model_dir, 'reid', 'embedding',
        'Walkout person re-identification: a 64-d L2-normalised appearance embedding of a person crop; '
        'compare by cosine similarity.',
        (size, size), 'stretch',
        {'kind': 'embedding', 'name': 'embedding', 'dim': DIM},
        [],
        rounded({
            'seed': seed,
            'dataset': {'train': len(ids), 'trainIdentities': len(uniq), 'val': len(val_ids), 'test': n_test},
            'epochs': sched.epoch, 'stepsPerEpoch': steps_per_epoch, 'batch': f'{P} people × {K} crops',
            'minutes': sched.elapsed() / 60,
            'architecture': ('2×2 average pool to 32×32, ' if HALF else '')
            + f'CNN, 3×3 conv + BN + ReLU, widths {list(WIDTHS)}, stride-2 stem, average pools '
                            f'of the whole map and of its centre, linear {2 * WIDTHS[-1]}→{DIM}, L2 norm',
            'parameters': param_count(net),
            'loss': f'CosFace identity loss (scale {SCALE}, margin {MARGIN}) over {len(uniq)} training identities '
                    f'+ batch-hard triplet (margin {TRIPLET_MARGIN})',
            'augmentations': ['flips and 90° rotations', 'rotation ±10°', 'scale 0.9–1.1', 'shift ±2.5 px',
                              'brightness/contrast ±8%', 'per-channel gain ±3%', 'Gaussian noise σ ≤ 0.015'],
            'optimizer': f'AdamW lr {lr} wd 5e-4, linear warm-up, cosine to the time budget',
            'compute': compute.describe(),
            'validation': {'rank1': r1, 'queries': n_q,
                           'protocol': 'crops with the head in view; per scene, gallery = crops from other cameras'},
            'history': sched.history,
        }),
    )
    return {'rank1': r1}
