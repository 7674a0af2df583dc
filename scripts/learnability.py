"""What can the bundled model learn from a dataset, and with which adapter? A quick study tool.

A float32 PyTorch re-statement, on the CPU, of the first-run finetune (METHOD.md §1-2: T-REX
rank1_flex with dense routing and its gates, plain LoRA, or full finetuning; AdamW, linear
warmup then cosine, clip 1, loss on the answer tokens; the base model's intuition: mean-pooled
hidden states after a block, k-means++ with k = E, s = C e, optionally centred), and the suite's
scoring (multiple choice: the first greedy token; generative: exact match). It runs about 100x
faster than the app does on SwiftShader, so a question such as "does this task learn in 150
steps?" takes a minute. It is a study aid, not the app: the numbers in README "Does it learn?"
that come from it say so, and the app's own measurement is `npm run finetune -- --eval`.

  apt-get install python3-torch libopenblas0-pthread
  python3 scripts/learnability.py                                 # the first run: T-REX, 600 x 16, centred
  python3 scripts/learnability.py --bucket --seed 1               # batches by length, as the app's reader
  python3 scripts/learnability.py --steps 0 --intuition none      # the base model's accuracy
  python3 scripts/learnability.py --method trex --intuition raw --tasks sentiment --steps 150
  python3 scripts/learnability.py --method lora --data DIR      # DIR: train.jsonl, validation.jsonl

It prints the training loss, then per-task validation accuracy and, for T-REX, each layer's
gates and how far its B columns are apart (0: every column equal, the adapter is rank 1).
"""
import argparse
import json
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_default_model as recipe  # noqa: E402  (the model, the tokenizer and the suite's scoring)

ROOT = recipe.ROOT
TARGETS = ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj')
TOKEN_COEF, TASK_COEF, GATE_SLOPE = 32.0, 4.0, 100.0  # METHOD.md §1


def adapters(torch):
    nn = torch.nn
    scores = [None]  # the current batch's intuition scores (B x 1 x E), read by every T-REX layer

    def kaiming(r, n):
        return nn.Parameter(torch.empty(r, n).uniform_(-1 / math.sqrt(n), 1 / math.sqrt(n)))

    class Lora(nn.Module):
        def __init__(self, base, r, alpha):
            super().__init__()
            self.base, self.scale = base, alpha / r
            self.A, self.B = kaiming(r, base.in_features), nn.Parameter(torch.zeros(base.out_features, r))

        def forward(self, x):
            return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T

    class Trex(nn.Module):
        """rank1_flex, dense: g = 32 w p + 4 (1 - w) s, G = g as r1 x r2, delta = B (G^T (A x)), y = W0 x + beta delta."""
        def __init__(self, base, r1, r2):
            super().__init__()
            self.base, self.r1, self.r2, self.E = base, r1, r2, r1 * r2
            self.A, self.B = kaiming(r1, base.in_features), nn.Parameter(torch.zeros(base.out_features, r2))
            self.Wr = nn.Parameter(torch.zeros(self.E, base.in_features))
            self.w_omega, self.w_beta = nn.Parameter(torch.zeros(())), nn.Parameter(torch.zeros(()))

        def forward(self, x):
            p = torch.softmax(x @ self.Wr.T, -1)
            w = torch.sigmoid(GATE_SLOPE * self.w_omega)
            s = scores[0] if scores[0] is not None else torch.zeros(self.E)
            g = TOKEN_COEF * w * p + TASK_COEF * (1 - w) * s
            h = ((x @ self.A.T).unsqueeze(-1) * g.view(*g.shape[:-1], self.r1, self.r2)).sum(-2)
            return self.base(x) + torch.sigmoid(GATE_SLOPE * self.w_beta) * (h @ self.B.T)

    return Lora, Trex, scores


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=os.path.join(ROOT, 'public', 'models', recipe.NAME))
    ap.add_argument('--data', default=os.path.join(ROOT, 'public', 'data', 'suite'), help='a folder with train.jsonl and validation.jsonl')
    ap.add_argument('--tasks', default='', help='comma-separated task names to keep (default: every task)')
    ap.add_argument('--method', choices=('trex', 'lora', 'full'), default='trex')
    ap.add_argument('--r1', type=int, default=4)
    ap.add_argument('--r2', type=int, default=8)
    ap.add_argument('--rank', type=int, default=32, help='LoRA rank')
    ap.add_argument('--alpha', type=float, default=None, help="LoRA alpha (scale alpha / rank; default the rank, as the app's LoRA)")
    ap.add_argument('--intuition', choices=('none', 'raw', 'centered'), default='centered')
    ap.add_argument('--layer', type=int, default=None, help="block whose mean-pooled hidden states embed a prompt (default: the middle one, as the app)")
    ap.add_argument('--steps', type=int, default=600, help='optimiser steps (default: the first run\'s, src/train/defaults.ts)')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=5e-3)
    ap.add_argument('--gate-lr', type=float, default=1.0, help="the gate scalars' learning rate as a fraction of --lr")
    ap.add_argument('--max-len', type=int, default=128)
    ap.add_argument('--eval-limit', type=int, default=50, help='validation rows per task')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--bucket', action='store_true', help="batch rows of similar length together, as the app's reader does")
    ap.add_argument('--bucket-window', type=int, default=4, help='--bucket: batches per sorted window (the app: BUCKET_BATCHES = 4)')
    ap.add_argument('--show', type=int, default=0, help='print the greedy answers to the first N validation rows of each task')
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()

    import torch
    F = torch.nn.functional
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model, bpe, eot = recipe.load_model(torch, a.model)
    if a.layer is None:
        a.layer = len(model.layers) // 2
    Lora, Trex, scores = adapters(torch)
    V = eot + 1
    read = lambda f: [json.loads(line) for line in open(os.path.join(a.data, f)) if line.strip()]
    train, val = read('train.jsonl'), read('validation.jsonl')
    if a.tasks:
        keep = set(a.tasks.split(','))
        train, val = [r for r in train if r['task'] in keep], [r for r in val if r['task'] in keep]
        if not train:
            sys.exit(f'no training row has a task in {sorted(keep)}')
    by_task = {}
    for r in val:
        if len(by_task.setdefault(r['task'], [])) < a.eval_limit:
            by_task[r['task']].append(r)

    # The intuition, from the frozen base model (before any adapter is attached).
    E = a.r1 * a.r2
    s_of = None
    if a.method == 'trex' and a.intuition != 'none':
        def embed(rows):
            with torch.no_grad():
                out = []
                for r in rows:
                    x = model.embed_tokens(torch.tensor([bpe.encode(recipe.template(r['instruction']), bos=True)]))
                    for b in model.layers[:a.layer + 1]:
                        x = b(x)
                    out.append(x[0].mean(0))
                e = torch.stack(out)
                return e / e.norm(dim=-1, keepdim=True)
        t0 = time.time()
        e_train, e_val = embed(train), embed([r for rs in by_task.values() for r in rs])
        mean = e_train.mean(0) if a.intuition == 'centered' else torch.zeros(e_train.shape[1])
        unit = lambda e: (e - mean) / (e - mean).norm(dim=-1, keepdim=True)
        X = unit(e_train)
        g = torch.Generator().manual_seed(a.seed)
        C = X[torch.randint(len(X), (1,), generator=g)]
        for _ in range(E - 1):  # k-means++ seeding, then Lloyd
            d2 = torch.cdist(X, C).min(1).values ** 2
            C = torch.cat([C, X[torch.multinomial(d2 / d2.sum(), 1, generator=g)]])
        for _ in range(30):
            lab = torch.cdist(X, C).argmin(1)
            C = torch.stack([X[lab == k].mean(0) if (lab == k).any() else C[k] for k in range(E)])
        s_train = X @ C.T
        s_val = unit(e_val) @ C.T
        s_of = {'train': s_train, 'val': {r['instruction']: s_val[i] for i, r in enumerate(r for rs in by_task.values() for r in rs)}}
        spread = (s_train.max(1).values - s_train.min(1).values).mean().item()
        print(f'intuition ({a.intuition}, block {a.layer}, k = {E}): {time.time() - t0:.0f}s; scores per row span {spread:.3f} on average', flush=True)

    for p in model.parameters():
        p.requires_grad_(a.method == 'full')
    if a.method != 'full':
        for b in model.layers:
            for n in TARGETS:
                setattr(b, n, Lora(getattr(b, n), a.rank, a.alpha if a.alpha is not None else a.rank) if a.method == 'lora' else Trex(getattr(b, n), a.r1, a.r2))
    params = [p for p in model.parameters() if p.requires_grad]
    gates = {id(m.w_omega) for m in model.modules() if isinstance(m, Trex)} | {id(m.w_beta) for m in model.modules() if isinstance(m, Trex)}
    opt = torch.optim.AdamW([{'params': [p for p in params if id(p) not in gates], 'scale': 1.0},
                             {'params': [p for p in params if id(p) in gates], 'scale': a.gate_lr}], lr=a.lr, betas=(0.9, 0.999), weight_decay=0.0)
    print(f'{a.method}: {sum(p.numel() for p in params):,} trainable parameters', flush=True)

    def encode(r):
        prompt = bpe.encode(recipe.template(r['instruction']), bos=True)
        answer = bpe.encode(r['output']) + [eot]
        return (prompt + answer)[:a.max_len], ([0] * len(prompt) + [1] * len(answer))[:a.max_len]

    warm = max(1, round(0.05 * a.steps))
    lr_at = lambda s: a.lr * (s + 1) / warm if s < warm else 0.5 * a.lr * (1 + math.cos(math.pi * (s - warm) / max(1, a.steps - warm)))
    lengths = [len(encode(r)[0]) for r in train] if a.bucket else None  # fixed: tokenised once

    def epoch_batches(rng):
        """One epoch's batches. Plain: shuffled rows cut into batches. --bucket: as the app's reader
        (src/data/batches.ts epochBatches): shuffle, sort each window of --bucket-window batches' rows by length (the app: BUCKET_BATCHES = 4), cut, shuffle the batches."""
        order = list(range(len(train)))
        rng.shuffle(order)
        if not a.bucket:
            return [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
        out = []
        for w in range(0, len(order), a.bucket_window * a.batch):
            chunk = sorted(order[w:w + a.bucket_window * a.batch], key=lambda i: (lengths[i], i))
            out += [chunk[i:i + a.batch] for i in range(0, len(chunk), a.batch)]
        last = out.pop() if len(out[-1]) < a.batch else None  # the one short batch stays last
        rng.shuffle(out)
        return out + ([last] if last else [])

    rng, batches, ema, t0, padded = random.Random(a.seed), [], None, time.time(), 0
    for step in range(a.steps):
        if not batches:
            batches = epoch_batches(rng)
        idx = batches.pop(0)
        seqs = [encode(train[i]) for i in idx]
        T = max(len(ids) for ids, _ in seqs) - 1
        padded += len(idx) * T
        x, y = torch.full((len(idx), T), eot), torch.full((len(idx), T), -100)
        for i, (ids, loss) in enumerate(seqs):
            x[i, :len(ids) - 1] = torch.tensor(ids[:-1])
            y[i, :len(ids) - 1] = torch.tensor([ids[j + 1] if loss[j + 1] else -100 for j in range(len(ids) - 1)])
        scores[0] = s_of['train'][idx].unsqueeze(1) if s_of else None
        for grp in opt.param_groups:
            grp['lr'] = lr_at(step) * grp['scale']
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 50 == 0 or step == a.steps - 1:
            print(f'step {step + 1}  loss {loss.item():.3f}  (smoothed {ema:.3f})  {time.time() - t0:.0f}s', flush=True)

    if a.steps:
        print(f'tokens per step, padded: {padded / a.steps:.0f}', flush=True)
    trex = [m for m in model.modules() if isinstance(m, Trex)]
    if trex:
        with torch.no_grad():
            spread = [((m.B - m.B.mean(1, keepdim=True)).norm() / (m.B.norm() + 1e-12)).item() for m in trex]
            print('B columns apart (per layer; 0 = rank 1):', ' '.join(f'{v:.2f}' for v in spread))
            print('w     (router share):', ' '.join(f'{torch.sigmoid(GATE_SLOPE * m.w_omega).item():.2f}' for m in trex))
            print('beta  (adapter gate):', ' '.join(f'{torch.sigmoid(GATE_SLOPE * m.w_beta).item():.2f}' for m in trex))
    model.eval()
    acc = {}
    for task, rows in sorted(by_task.items()):
        ok = 0
        for r in rows:
            scores[0] = s_of['val'][r['instruction']].view(1, 1, -1) if s_of else None
            ok += recipe.evaluate_suite(torch, model, bpe, eot, [r])[task]
            if a.show and rows.index(r) < a.show:
                got = recipe.greedy(torch, model, bpe, recipe.template(r['instruction']), 12, eot)
                print(f'  {task}: {r["instruction"][-60:]!r} -> {got!r} (gold {r["output"]!r})')
        acc[task] = ok / len(rows)
    print('validation accuracy:', json.dumps({t: round(v, 3) for t, v in acc.items()}), f'mean {sum(acc.values()) / len(acc):.3f}',
          f'({time.time() - t0:.0f}s)', flush=True)


if __name__ == '__main__':
    main()
