#!/usr/bin/env python3
"""The recipe of the bundled base model, mor1e-tiny (public/models/mor1e-tiny/): a ~2.2M-parameter
Llama-layout causal LM pretrained here, on the CPU, on a corpus that this script generates.

Steps (all seeded; see the constants below):
  1. corpus: short English documents generated from scripts/default_tables.json and small
     grammars: facts in prose (capitals, sums, comparisons, spellings and reversals, letter counts,
     boolean logic, sequences, categories, reviews), and examples in the suite's two prompt
     formats (the plain instruction template, multiple-choice blocks) for other, auxiliary tasks.
     It never uses the suite's prompt wording; the recipe checks that no instruction of
     public/data/suite/validation.jsonl occurs in it (run `node scripts/make_suite.mjs` first).
  2. tokenizer: a GPT-2-style byte-level BPE (GPT-2 split regex, bytes_to_unicode alphabet)
     trained here on the corpus: 2,047 tokens (256 bytes + 1,791 merges; merges never touch a
     digit, so numbers are read digit by digit) + <|endoftext|> (BOS, EOS, padding), written as
     tokenizer.json (BPE, ByteLevel pre-tokenizer and decoder, TemplateProcessing that puts
     <|endoftext|> first) and tokenizer_config.json (no chat_template: the app uses its plain
     instruction template).
  3. model: Llama layout (RMSNorm, rotate-half RoPE, SwiGLU, tied embeddings), hidden 192,
     4 layers, 4 heads, MLP 512, context 256; AdamW with a cosine schedule on packed 256-token
     windows, torch.set_num_threads(2).
  4. outputs: config.json, model.safetensors (F32, written by the writer below), the tokenizer
     files and README.md (the card: parameters, tokens, time, loss, samples, the suite's accuracy
     before finetuning) in public/models/mor1e-tiny/; golden logits (an independent float64 forward
     of the saved weights) and reference tokenizations in e2e/fixtures/default/ for the tests.

Needs Debian's python3-torch only (CPU). With Debian's generic reference BLAS a step is ~5x slower;
`apt-get install libopenblas0-pthread` makes it use OpenBLAS (what the recorded run used).

  python3 scripts/make_default_model.py                  # the whole recipe (~26 min on 2 cores)
  python3 scripts/make_default_model.py --tokenizer-only --out DIR
      # corpus + tokenizer only, into DIR: `cmp DIR/tokenizer.json public/models/mor1e-tiny/tokenizer.json`
      # checks that the tokenizer reproduces byte for byte
  python3 scripts/make_default_model.py --suite-only   # after the suite changed: check it, rescore the card
"""
import argparse
import json
import math
import os
import random
import re
import struct
import sys
import time
import unicodedata
from collections import Counter

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
NAME = 'mor1e-tiny'
SUITE_DIR = os.path.join(ROOT, 'public', 'data', 'suite')
SUITE_HEADING = '## The default suite before finetuning'
CORPUS_SEED = 271828      # the corpus generator (the suite uses 1404 in scripts/suite.ts)
MODEL_SEED = 314159       # weights init and window order
EOT = '<|endoftext|>'
VOCAB_SIZE = 2048         # 256 bytes + 1791 merges + <|endoftext|>
N_DOCS = 100000           # documents in the corpus (enough windows for every training step, none repeated)
TOKENIZER_DOCS = 30000    # documents the BPE is trained on (the corpus' first ones)
CFG = dict(hidden=192, layers=4, heads=4, kv_heads=4, intermediate=512, context=256, rope_theta=10000.0, eps=1e-5)
TRAIN = dict(batch=8, seq=256, steps=1800, warmup=50, lr=3e-3, min_lr=3e-4, weight_decay=0.1, betas=(0.9, 0.95), clip=1.0)

with open(os.path.join(ROOT, 'scripts', 'default_tables.json')) as f:
    TABLES = json.load(f)


# ------------------------------------------------------------------------------------ corpus

POS, NEG = TABLES['positive'], TABLES['negative']
NOUNS = TABLES['review_nouns']
CAPITALS = TABLES['capitals']
CATS = TABLES['categories']
WORDS = sorted(set(w for w in TABLES['words'] + [x for v in CATS.values() for x in v] if w.isalpha() and w.islower()))
DAYS, MONTHS = TABLES['days'], TABLES['months']
LOWER = 'abcdefghijklmnopqrstuvwxyz'
NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve']
OPPOSITES = [('hot', 'cold'), ('big', 'small'), ('up', 'down'), ('fast', 'slow'), ('happy', 'sad'), ('old', 'new'), ('day', 'night'),
             ('light', 'dark'), ('open', 'closed'), ('full', 'empty'), ('high', 'low'), ('long', 'short'), ('hard', 'soft'),
             ('wet', 'dry'), ('early', 'late'), ('left', 'right'), ('in', 'out'), ('good', 'bad'), ('rich', 'poor'), ('loud', 'quiet'),
             ('thick', 'thin'), ('heavy', 'light'), ('first', 'last'), ('win', 'lose'), ('push', 'pull'), ('give', 'take')]
COLOR_OF = [('the sky', 'blue'), ('grass', 'green'), ('snow', 'white'), ('a banana', 'yellow'), ('coal', 'black'), ('a cherry', 'red'),
            ('the sea', 'blue'), ('a lemon', 'yellow'), ('milk', 'white'), ('a leaf', 'green'), ('a tomato', 'red'), ('chocolate', 'brown'),
            ('a plum', 'purple'), ('the sun', 'yellow'), ('a frog', 'green'), ('a crow', 'black'), ('an orange', 'orange'), ('a rose', 'red')]
SOUNDS = [('cow', 'moo'), ('dog', 'woof'), ('cat', 'meow'), ('duck', 'quack'), ('sheep', 'baa'), ('lion', 'roar'), ('horse', 'neigh'),
          ('owl', 'hoot'), ('pig', 'oink'), ('bee', 'buzz'), ('mouse', 'squeak'), ('snake', 'hiss')]
NAMES = ['Anna', 'Ben', 'Carla', 'David', 'Emma', 'Felix', 'Grace', 'Hugo', 'Iris', 'Jack', 'Kate', 'Leo', 'Mia', 'Noah', 'Olga', 'Paul',
         'Rosa', 'Sam', 'Tara', 'Omar', 'Lena', 'Max', 'Nina', 'Tom']
PLACES = ['the park', 'the market', 'school', 'the beach', 'the library', 'the river', 'the city', 'the farm', 'the station', 'the garden']
VERBS_T = ['sees', 'likes', 'finds', 'paints', 'draws', 'carries', 'watches', 'follows', 'wants', 'buys']
VERBS_I = ['runs', 'sleeps', 'sings', 'jumps', 'walks', 'reads', 'waits', 'plays', 'laughs', 'swims']
THINGS = ['ball', 'book', 'kite', 'cup', 'hat', 'box', 'bag', 'key', 'lamp', 'map', 'letter', 'cake', 'apple', 'flower', 'picture']


def spaced(w):
    return ' '.join(w)


def cap(s):
    return s[0].upper() + s[1:]


def art(w):
    return 'an' if w[0] in 'aeiou' else 'a'


def plural(w):
    if w.endswith(('s', 'x', 'ch', 'sh')):
        return w + 'es'
    if w.endswith('y') and w[-2] not in 'aeiou':
        return w[:-1] + 'ies'
    return w + 's'


def plural_phrase(c):
    """animal -> animals, body part -> body parts, piece of clothing -> pieces of clothing."""
    if ' of ' in c:
        head, rest = c.split(' of ', 1)
        return plural(head) + ' of ' + rest
    words = c.split(' ')
    return ' '.join(words[:-1] + [plural(words[-1])])


def rand_letters(r, lo, hi):
    return ''.join(r.choice(LOWER) for _ in range(r.randint(lo, hi)))


def logic_expr(r, depth):
    if depth == 0 or r.random() < 0.3:
        v = r.random() < 0.5
        return ('not ' + str(v).lower(), not v) if r.random() < 0.3 else (str(v).lower(), v)
    a, av = logic_expr(r, depth - 1)
    b, bv = logic_expr(r, depth - 1)
    op = r.choice(['and', 'or'])
    val = (av and bv) if op == 'and' else (av or bv)
    wrap = lambda t: '(' + t + ')' if (' and ' in t or ' or ' in t) else t
    return f'{wrap(a)} {op} {wrap(b)}', val


def doc_capitals(r):
    out = []
    for _ in range(r.randint(3, 6)):
        c, k = r.choice(CAPITALS)
        out.append(r.choice([f'{k} is the capital of {c}.', f'The capital of {c} is {k}.', f'{c} has its capital in {k}.',
                             f'The capital city of {c} is {k}.', f'In {c}, the capital is {k}.',
                             f'{r.choice(NAMES)} flew to {k}, the capital of {c}.']))
    return ' '.join(out)


def doc_arithmetic(r):
    out = []
    for _ in range(r.randint(4, 8)):
        a, b = r.randint(0, 99), r.randint(0, 99)
        s = a + b
        out.append(r.choice([f'{a} + {b} = {s}.', f'{a} plus {b} is {s}.', f'The sum of {a} and {b} is {s}.', f'Adding {a} and {b} gives {s}.',
                             f'{s} - {b} = {a}.', f'{s} minus {a} is {b}.', f'{a} + {b} = {s}.']))
    return ' '.join(out)


def doc_compare(r):
    out = []
    for _ in range(r.randint(4, 7)):
        a, b = r.sample(range(0, 100), 2)
        hi, lo = max(a, b), min(a, b)
        out.append(r.choice([f'{hi} is larger than {lo}.', f'{lo} is smaller than {hi}.', f'{hi} is more than {lo}.', f'{lo} is less than {hi}.',
                             f'Of {a} and {b}, the larger number is {hi}.', f'Of {a} and {b}, the smaller number is {lo}.', f'{hi} > {lo} and {lo} < {hi}.']))
    return ' '.join(out)


def doc_spelling(r):
    out = []
    for _ in range(r.randint(3, 6)):
        w = r.choice(WORDS) if r.random() < 0.6 else rand_letters(r, 3, 6)
        rev = w[::-1]
        out.append(r.choice([f'The word {w} is spelled {spaced(w)}.', f'{spaced(w)} backwards is {spaced(rev)}.',
                             f'Spelled in reverse, {spaced(w)} becomes {spaced(rev)}.', f'{cap(w)} has {len(w)} letters: {spaced(w)}.',
                             f'Read from the end, {spaced(w)} is {spaced(rev)}.', f'The first letter of {w} is {w[0]} and the last is {w[-1]}.']))
    return ' '.join(out)


def doc_letter_count(r):
    out = []
    for _ in range(r.randint(3, 6)):
        w = r.choice(WORDS) if r.random() < 0.6 else rand_letters(r, 4, 7)
        c = r.choice(w) if r.random() < 0.7 else r.choice(LOWER)
        k = w.count(c)
        times = {0: 'no times', 1: 'once', 2: 'twice'}.get(k, f'{k} times')
        out.append(r.choice([f'In {spaced(w)}, the letter {c} appears {k} times.', f'{spaced(w)} has {k} of the letter {c}.',
                             f'The letter {c} occurs {times} in {w}.', f'Count the {c}: {spaced(w)} has {k}.']))
    return ' '.join(out)


def doc_logic(r):
    out = []
    for _ in range(r.randint(3, 6)):
        e, v = logic_expr(r, r.randint(1, 2))
        v = str(v).lower()
        out.append(r.choice([f'{e} is {v}.', f'The value of {e} is {v}.', f'{cap(e)} gives {v}.']))
    rules = ['true and true is true.', 'true and false is false.', 'false or true is true.', 'false or false is false.',
             'not true is false.', 'not false is true.']
    if r.random() < 0.3:
        out.insert(0, ' '.join(r.sample(rules, 3)))
    return ' '.join(out)


def doc_sequence(r):
    kind = r.randrange(5)
    if kind == 0:
        s, d = r.randint(0, 50), r.randint(1, 10)
        xs = [str(s + i * d) for i in range(r.randint(5, 9))]
        return r.choice([f'Counting up by {d} from {s}: {", ".join(xs)}.', f'The numbers {", ".join(xs)} go up by {d} each time.'])
    if kind == 1:
        s, d = r.randint(50, 120), r.randint(1, 10)
        xs = [str(s - i * d) for i in range(r.randint(5, 8)) if s - i * d >= 0]
        return f'Counting down by {d}: {", ".join(xs)}.'
    if kind == 2:
        d = r.randint(1, 3)
        s = r.randrange(26 - 5 * d)
        xs = [LOWER[s + i * d] for i in range(r.randint(4, 6))]
        return r.choice([f'The letters {", ".join(xs)} skip {d - 1} each time.' if d > 1 else f'The letters {", ".join(xs)} are in order.',
                         f'In the alphabet, {", ".join(xs)} follow each other with a step of {d}.'])
    cyc = DAYS if kind == 3 else MONTHS
    i = r.randrange(len(cyc))
    j = (i + 1) % len(cyc)
    return r.choice([f'After {cyc[i]} comes {cyc[j]}.', f'{cyc[j]} follows {cyc[i]}.',
                     f'{", ".join(cyc[(i + k) % len(cyc)] for k in range(r.randint(3, 6)))} come one after another.',
                     f'The {"days of the week" if cyc is DAYS else "months of the year"} are {", ".join(cyc)}.'])


def doc_category(r):
    out = []
    for _ in range(r.randint(3, 6)):
        c = r.choice(sorted(CATS))
        w = r.choice(CATS[c])
        out.append(r.choice([f'{art(w).capitalize()} {w} is {art(c)} {c}.', f'{cap(w)} is {art(c)} {c}.',
                             f'Some examples of {plural_phrase(c)} are {", ".join(r.sample(CATS[c], 3))}.',
                             f'{cap(w)} is not {art(o := r.choice([x for x in sorted(CATS) if x != c]))} {o}; it is {art(c)} {c}.']))
    return ' '.join(out)


def doc_review(r):
    good = r.random() < 0.5
    adjs = POS if good else NEG
    n1, n2 = r.sample(NOUNS, 2)
    a1, a2 = r.sample(adjs, 2)
    s = [r.choice([f'We went to {r.choice(PLACES)} on {r.choice(DAYS)}.', f'{r.choice(NAMES)} wrote about the {n1}.', ''])]
    s.append(r.choice([f'The {n1} was {a1}.', f'The {n1} was really {a1} and the {n2} was {a2}.', f'Such {art(a1)} {a1} {n1}.']))
    s.append(r.choice(['I loved it.', 'We were very happy.', 'I would go again.', 'Five stars.'] if good else
                      ['I hated it.', 'We were very unhappy.', 'I will never go again.', 'One star.']))
    if r.random() < 0.3:
        s.append(f'"{a1}" is a {"positive" if good else "negative"} word.')
    return ' '.join(x for x in s if x)


def doc_story(r):
    out = []
    for _ in range(r.randint(3, 6)):
        n, m = r.sample(NAMES, 2)
        a = r.choice(sorted(CATS['animal']))
        out.append(r.choice([f'{n} {r.choice(VERBS_I)} in {r.choice(PLACES)}.', f'{n} {r.choice(VERBS_T)} the {r.choice(CATS["color"])} {r.choice(THINGS)}.',
                             f'The {a} {r.choice(VERBS_I)} near {r.choice(PLACES)}.', f'{n} and {m} went to {r.choice(PLACES)} on {r.choice(DAYS)}.',
                             f'{n} gave {m} {art(t := r.choice(THINGS))} {t}.', f'The {a} says {dict(SOUNDS).get(a, "nothing")}.' if a in dict(SOUNDS) else f'{n} saw {art(a)} {a}.',
                             f'{n} has {r.randint(2, 9)} {plural(r.choice(THINGS))} and {m} has {r.randint(2, 9)}.',
                             f'It was {r.choice(["sunny", "rainy", "windy", "cold", "warm"])} in {r.choice(CAPITALS)[1]} in {r.choice(MONTHS)}.']))
    return ' '.join(out)


def instruction(prompt, answer):
    """The app's plain instruction template (src/model/tokenizer.ts) with the answer and EOS."""
    return f'### Instruction:\n{prompt}\n\n### Response:\n{answer}{EOT}'


def doc_instruction(r):
    k = r.randrange(9)
    if k == 0:
        a, b = r.choice(OPPOSITES)
        if r.random() < 0.5:
            a, b = b, a
        return instruction(r.choice([f'What is the opposite of {a}?', f'Give the opposite of the word {a}.']), b)
    if k == 1:
        w = r.choice(THINGS + CATS['animal'] + CATS['fruit'])
        return instruction(f'Write the plural of {w}.', plural(w))
    if k == 2:
        w = r.choice(WORDS)
        return instruction(r.choice([f'Spell the word {w}.', f'Spell {w} letter by letter.']), spaced(w))
    if k == 3:
        w = r.choice(WORDS)
        return instruction(f'What is the first letter of {w}?', w[0])
    if k == 4:
        a = r.randint(0, 99)
        b = r.randint(0, a)
        return instruction(f'What is {a} minus {b}?', str(a - b))
    if k == 5:
        a, b = r.randint(1, 9), r.randint(1, 9)
        return instruction(f'Multiply {a} by {b}.', str(a * b))
    if k == 6:
        t, c = r.choice(COLOR_OF)
        return instruction(f'What color is {t}?', c)
    if k == 7:
        s = r.randint(0, 8)
        return instruction(f'Continue counting in words: {", ".join(NUMBER_WORDS[s:s + 3])}', NUMBER_WORDS[s + 3])
    a, s = r.choice(SOUNDS)
    return instruction(f'What sound does {art(a)} {a} make?', s)


def mc_block(r, question, correct, distractors):
    opts = distractors[:]
    r.shuffle(opts)
    at = r.randrange(len(opts) + 1)
    opts.insert(at, correct)
    body = question + '\nChoices:\n' + '\n'.join(f'{"ABCD"[i]}. {o}' for i, o in enumerate(opts)) + '\nAnswer:\n'
    return body, 'ABCD'[at]


def doc_mc(r):
    k = r.randrange(4)
    if k == 0:
        a, b = r.choice(OPPOSITES)
        others = [x for p in OPPOSITES for x in p if x not in (a, b)]
        q = mc_block(r, f'What is the opposite of {a}?', b, r.sample(others, r.randint(1, 3)))
    elif k == 1:
        n = r.randint(0, 99)
        q = mc_block(r, f'Is {n} even or odd?', 'even' if n % 2 == 0 else 'odd', ['odd' if n % 2 == 0 else 'even'])
    elif k == 2:
        t, c = r.choice(COLOR_OF)
        q = mc_block(r, f'What color is {t}?', c, r.sample(sorted({x for _, x in COLOR_OF} - {c}), r.randint(1, 3)))
    else:
        a, s = r.choice(SOUNDS)
        q = mc_block(r, f'Which animal says {s}?', a, r.sample([x for x, _ in SOUNDS if x != a], r.randint(1, 3)))
    # Either as a bare block with its answer letter, or inside the instruction template.
    return q[0] + q[1] + '.' if r.random() < 0.4 else instruction(q[0], q[1])


DOC_KINDS = [(doc_capitals, 8), (doc_arithmetic, 10), (doc_compare, 7), (doc_spelling, 9), (doc_letter_count, 7), (doc_logic, 7),
             (doc_sequence, 7), (doc_category, 7), (doc_review, 8), (doc_story, 10), (doc_instruction, 14), (doc_mc, 6)]


def corpus_docs(n, seed=CORPUS_SEED):
    r = random.Random(seed)
    fns = [f for f, _ in DOC_KINDS]
    weights = [w for _, w in DOC_KINDS]
    docs = []
    for _ in range(n):
        d = r.choices(fns, weights)[0](r)
        # A document ends with EOS: an instruction example already has its EOS after the answer.
        docs.append(d if d.endswith(EOT) else d + EOT)
    return docs


# ------------------------------------------------------------------------------------ tokenizer

def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
# JavaScript's \s (the library's and the app's regexes are JavaScript's).
JS_SPACE = set('\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff') | {chr(c) for c in range(0x2000, 0x200b)}


def _letter(c):
    return unicodedata.category(c)[0] == 'L'


def _number(c):
    return unicodedata.category(c)[0] == 'N'


def _other(c):
    return not (c in JS_SPACE or _letter(c) or _number(c))


def gpt2_split(s):
    """The GPT-2 pre-tokenizer regex  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    written out (Python's re has no \\p{..}), alternative by alternative, leftmost first."""
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if c == "'" and i + 1 < n:
            if s[i + 1:i + 3] in ('re', 've', 'll'):
                out.append(s[i:i + 3])
                i += 3
                continue
            if s[i + 1] in 'stmd':
                out.append(s[i:i + 2])
                i += 2
                continue
        matched = False
        for cls in (_letter, _number, _other):
            if c == ' ' and i + 1 < n and cls(s[i + 1]):
                k = i + 1
            elif cls(c):
                k = i
            else:
                continue
            while k < n and cls(s[k]):
                k += 1
            out.append(s[i:k])
            i = k
            matched = True
            break
        if matched:
            continue
        # c is whitespace: \s+(?!\S), else \s+
        k = i
        while k < n and s[k] in JS_SPACE:
            k += 1
        if k < n and k - 1 > i:
            k -= 1
        out.append(s[i:k])
        i = k
    return out


def byte_chars(w):
    return ''.join(B2U[b] for b in w.encode('utf-8'))


def train_bpe(docs, n_merges):
    """Byte-level BPE: word counts from the GPT-2 split, then the most frequent adjacent pair merged,
    n_merges times (ties: the lexicographically smallest pair). Pairs with a digit are never merged.
    Incremental: pair counts and the words holding each pair are updated per merge."""
    import heapq
    counts = Counter()
    for d in docs:
        for part in d.split(EOT):
            counts.update(gpt2_split(part))
    words = [list(byte_chars(w)) for w in sorted(counts)]
    freq = [counts[w] for w in sorted(counts)]
    pair_count = Counter()
    where = {}
    for wi, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += freq[wi]
            where.setdefault(p, set()).add(wi)
    has_digit = lambda t: any(ch in '0123456789' for ch in t)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        negc, p = heapq.heappop(heap)
        if pair_count.get(p, 0) != -negc or negc == 0:
            continue
        if has_digit(p[0]) or has_digit(p[1]):
            continue
        merges.append(p)
        a, b = p
        changed = Counter()
        for wi in sorted(where.pop(p, ())):
            w, f = words[wi], freq[wi]
            for q in zip(w, w[1:]):
                changed[q] -= f
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for q in zip(out, out[1:]):
                changed[q] += f
                where.setdefault(q, set()).add(wi)
        for q, dlt in changed.items():
            if dlt:
                pair_count[q] += dlt
                if pair_count[q] > 0:
                    heapq.heappush(heap, (-pair_count[q], q))
        pair_count.pop(p, None)
    return merges


class Bpe:
    def __init__(self, vocab, merges, specials):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.specials = specials
        self.cache = {}

    def word(self, w):
        ids = self.cache.get(w)
        if ids is not None:
            return ids
        syms = list(byte_chars(w))
        while len(syms) > 1:
            best = min(((self.ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(syms, syms[1:]))), default=(1 << 30, -1))
            if best[0] == 1 << 30:
                break
            a, b = syms[best[1]], syms[best[1] + 1]
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        ids = [self.vocab[t] for t in syms]
        self.cache[w] = ids
        return ids

    def encode(self, text, bos=False):
        """Ids of `text` (special tokens in the text become their ids); bos: the post-processor's <|endoftext|> first."""
        out = [self.specials[EOT]] if bos else []
        parts = text.split(EOT)
        for k, part in enumerate(parts):
            if k:
                out.append(self.specials[EOT])
            for w in gpt2_split(part):
                out.extend(self.word(w))
        return out

    def decode(self, ids):
        inv = {v: k for k, v in self.vocab.items()}
        u2b = {v: k for k, v in B2U.items()}
        out, buf = [], []
        for i in ids:
            t = inv[i]
            if t in self.specials:
                out.append(bytes(buf).decode('utf-8', 'replace') + t)
                buf = []
            else:
                buf.extend(u2b[ch] for ch in t)
        out.append(bytes(buf).decode('utf-8', 'replace'))
        return ''.join(out)


def build_tokenizer(docs):
    merges = train_bpe(docs, VOCAB_SIZE - 256 - 1)
    vocab = {B2U[b]: b for b in range(256)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    assert len(vocab) == VOCAB_SIZE - 1, len(vocab)
    eot = len(vocab)
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot, "content": EOT, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": EOT, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": EOT, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": EOT, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {EOT: {"id": EOT, "ids": [eot], "tokens": [EOT]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": [[a, b] for a, b in merges]},
    }
    tok_cfg = {"bos_token": EOT, "eos_token": EOT, "pad_token": EOT, "unk_token": EOT, "add_bos_token": True, "add_eos_token": False,
               "add_prefix_space": False, "clean_up_tokenization_spaces": False, "model_max_length": CFG['context'],
               "tokenizer_class": "PreTrainedTokenizerFast"}
    return tok, tok_cfg, Bpe(dict(vocab), merges, {EOT: eot})


def write_tokenizer(out, tok, tok_cfg):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'tokenizer.json'), 'w') as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(out, 'tokenizer_config.json'), 'w') as f:
        json.dump(tok_cfg, f, indent=2, ensure_ascii=False)
        f.write('\n')


# ------------------------------------------------------------------------------------ model

def make_model(torch, V):
    nn, F = torch.nn, torch.nn.functional
    C, L, NH, NKV, I = CFG['hidden'], CFG['layers'], CFG['heads'], CFG['kv_heads'], CFG['intermediate']
    D = C // NH
    T = CFG['context']

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(C))

        def forward(self, x):
            return self.weight * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + CFG['eps']))

    inv_freq = 1.0 / (CFG['rope_theta'] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), -1)
    COS, SIN = emb.cos().float(), emb.sin().float()
    MASK = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), -1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm = RMSNorm()
            self.q_proj = nn.Linear(C, NH * D, bias=False)
            self.k_proj = nn.Linear(C, NKV * D, bias=False)
            self.v_proj = nn.Linear(C, NKV * D, bias=False)
            self.o_proj = nn.Linear(NH * D, C, bias=False)
            self.post_attention_layernorm = RMSNorm()
            self.gate_proj = nn.Linear(C, I, bias=False)
            self.up_proj = nn.Linear(C, I, bias=False)
            self.down_proj = nn.Linear(I, C, bias=False)

        def forward(self, x):
            B, Tq, _ = x.shape
            h = self.input_layernorm(x)
            q = self.q_proj(h).view(B, Tq, NH, D).transpose(1, 2)
            k = self.k_proj(h).view(B, Tq, NKV, D).transpose(1, 2)
            v = self.v_proj(h).view(B, Tq, NKV, D).transpose(1, 2)
            cos, sin = COS[:Tq], SIN[:Tq]
            q = q * cos + rot(q) * sin
            k = k * cos + rot(k) * sin
            if NKV != NH:
                k = k.repeat_interleave(NH // NKV, 1)
                v = v.repeat_interleave(NH // NKV, 1)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
            s = s.masked_fill(MASK[:Tq, :Tq], float('-inf'))
            a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, Tq, NH * D)
            x = x + self.o_proj(a)
            h = self.post_attention_layernorm(x)
            return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(V, C)
            self.layers = nn.ModuleList([Block() for _ in range(L)])
            self.norm = RMSNorm()

        def forward(self, ids):
            x = self.embed_tokens(ids)
            for b in self.layers:
                x = b(x)
            return self.norm(x) @ self.embed_tokens.weight.T  # tied head

    m = Model()
    for name, p in m.named_parameters():
        if p.dim() == 2:
            std = 0.02 / math.sqrt(2 * L) if name.endswith(('o_proj.weight', 'down_proj.weight')) else 0.02
            torch.nn.init.normal_(p, 0.0, std)
    return m


def hf_state(model):
    """HF Llama tensor names (tied embeddings: no lm_head.weight)."""
    out = {'model.embed_tokens.weight': model.embed_tokens.weight}
    for l, b in enumerate(model.layers):
        p = f'model.layers.{l}.'
        out[p + 'input_layernorm.weight'] = b.input_layernorm.weight
        for n in ('q_proj', 'k_proj', 'v_proj', 'o_proj'):
            out[p + f'self_attn.{n}.weight'] = getattr(b, n).weight
        out[p + 'post_attention_layernorm.weight'] = b.post_attention_layernorm.weight
        for n in ('gate_proj', 'up_proj', 'down_proj'):
            out[p + f'mlp.{n}.weight'] = getattr(b, n).weight
    out['model.norm.weight'] = model.norm.weight
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def write_safetensors(path, tensors):
    """safetensors: u64 little-endian header length, the JSON header (8-byte aligned), raw little-endian F32 data."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        b = t.numpy().astype('<f4').tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(torch, path):
    import numpy as np
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        assert info['dtype'] == 'F32'
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype='<f4').copy()).view(*info['shape'])
    return out


def reference_forward(torch, cfg, w, ids):
    """An independent float64 forward of the saved weights (HF Llama semantics, as scripts/make_test_models.py)."""
    C, NH, NKV, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    D, T = C // NH, len(ids)
    w = {k: v.to(torch.float64) for k, v in w.items()}
    rms = lambda x, g: g * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))
    rot = lambda x: torch.cat((-x[..., D // 2:], x[..., :D // 2]), -1)
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    fr = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos, sin = torch.cat((fr, fr), -1).cos(), torch.cat((fr, fr), -1).sin()
    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, w[p + "input_layernorm.weight"])
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, NH, D).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, NKV, D).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, NKV, D).transpose(0, 1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(NH // NKV, 0), v.repeat_interleave(NH // NKV, 0)
        s = (q @ k.transpose(1, 2)) / math.sqrt(D)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf'))
        x = x + (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(T, NH * D) @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        g, u = h @ w[p + "mlp.gate_proj.weight"].T, h @ w[p + "mlp.up_proj.weight"].T
        x = x + (g * torch.sigmoid(g) * u) @ w[p + "mlp.down_proj.weight"].T
    return rms(x, w["model.norm.weight"]) @ w["model.embed_tokens.weight"].T


def pack(docs_ids, eot, T, rng):
    """Windows of T + 1 tokens, each starting at a document boundary with <|endoftext|> (as the app's
    prompts start with it), filled with whole documents; the document that overflows is cut."""
    windows, cur = [], [eot]
    for ids in docs_ids:
        cur.extend(ids)  # each document ends with its <|endoftext|>
        if len(cur) >= T + 1:
            windows.append(cur[:T + 1])
            cur = [eot]
    rng.shuffle(windows)
    return windows


def load_model(torch, folder):
    """The model and tokenizer a recipe run wrote to `folder` (its config.json, tokenizer.json and
    model.safetensors): (model, bpe, eot id). CFG takes the folder's sizes."""
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    tok = json.load(open(os.path.join(folder, 'tokenizer.json')))
    V = cfg['vocab_size']
    bpe = Bpe(dict(tok['model']['vocab']), [tuple(m) for m in tok['model']['merges']], {EOT: V - 1})
    CFG.update(hidden=cfg['hidden_size'], layers=cfg['num_hidden_layers'], heads=cfg['num_attention_heads'],
               kv_heads=cfg['num_key_value_heads'], intermediate=cfg['intermediate_size'])
    model = make_model(torch, V)
    w = read_safetensors(torch, os.path.join(folder, 'model.safetensors'))
    with torch.no_grad():
        model.embed_tokens.weight.copy_(w['model.embed_tokens.weight'])
        model.norm.weight.copy_(w['model.norm.weight'])
        for l, b in enumerate(model.layers):
            p = f'model.layers.{l}.'
            b.input_layernorm.weight.copy_(w[p + 'input_layernorm.weight'])
            b.post_attention_layernorm.weight.copy_(w[p + 'post_attention_layernorm.weight'])
            for n in ('q_proj', 'k_proj', 'v_proj', 'o_proj'):
                getattr(b, n).weight.copy_(w[p + f'self_attn.{n}.weight'])
            for n in ('gate_proj', 'up_proj', 'down_proj'):
                getattr(b, n).weight.copy_(w[p + f'mlp.{n}.weight'])
    return model, bpe, V - 1


def greedy(torch, model, bpe, prompt, max_new, eot):
    ids = bpe.encode(prompt, bos=True)
    out = []
    with torch.no_grad():
        for _ in range(max_new):
            nxt = int(model(torch.tensor([ids + out]))[0, -1].argmax())
            if nxt == eot:
                break
            out.append(nxt)
    return bpe.decode(out)


def template(prompt):
    return f'### Instruction:\n{prompt}\n\n### Response:\n'


def evaluate_suite(torch, model, bpe, eot, rows):
    """The suite's scoring (public/data/suite/README.md): multiple choice = the first greedy token is the
    gold letter; generative = greedy to EOS (at most 12 tokens), trimmed and case-folded exact match."""
    by_task = {}
    for r in rows:
        mc = r['instruction'].endswith('Answer:\n')
        got = greedy(torch, model, bpe, template(r['instruction']), 1 if mc else 12, eot)
        ok = got.strip() == r['output'] if mc else got.strip().lower() == r['output'].strip().lower()
        by_task.setdefault(r['task'], []).append(ok)
    return {t: sum(v) / len(v) for t, v in by_task.items()}


def suite_validation(docs):
    """The suite's validation rows, checked not to occur in the corpus."""
    with open(os.path.join(SUITE_DIR, 'validation.jsonl')) as f:
        suite_val = [json.loads(line) for line in f if line.strip()]
    text = '\n'.join(docs)
    leaks = [r['instruction'] for r in suite_val if r['instruction'] in text]
    assert not leaks, f'{len(leaks)} suite validation instructions occur in the corpus, e.g. {leaks[0]!r}'
    print(f'no suite validation instruction occurs in the corpus ({len(suite_val)} checked)', flush=True)
    return suite_val


def refresh_suite_section(out, suite_val):
    """--suite-only: the committed model's accuracy on the current suite, written over the card's suite section."""
    import torch
    torch.set_num_threads(2)
    model, bpe, eot = load_model(torch, out)
    model.eval()
    suite_acc = evaluate_suite(torch, model, bpe, eot, suite_val)
    print('suite validation accuracy before finetuning:', {k: round(v, 3) for k, v in suite_acc.items()}, flush=True)
    path = os.path.join(out, 'README.md')
    text = open(path).read()
    a, b = text.index(SUITE_HEADING), text.index('## Reproducing')
    with open(path, 'w') as f:
        f.write(text[:a] + suite_section(suite_acc) + '\n' + text[b:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(ROOT, 'public', 'models', NAME))
    ap.add_argument('--fixtures', default=os.path.join(ROOT, 'e2e', 'fixtures', 'default'))
    ap.add_argument('--tokenizer-only', action='store_true')
    ap.add_argument('--suite-only', action='store_true',
                    help="after the suite changed: check it against the corpus, score the model in --out on it and rewrite that section of its card")
    ap.add_argument('--steps', type=int, default=TRAIN['steps'])
    args = ap.parse_args()
    t0 = time.time()

    docs = corpus_docs(N_DOCS)
    print(f'corpus: {len(docs)} documents, {sum(map(len, docs)) / 1e6:.2f}M characters ({time.time() - t0:.0f}s)', flush=True)
    if args.suite_only:
        return refresh_suite_section(args.out, suite_validation(docs))
    tok, tok_cfg, bpe = build_tokenizer(docs[:TOKENIZER_DOCS])
    write_tokenizer(args.out, tok, tok_cfg)
    print(f'tokenizer: {VOCAB_SIZE} tokens ({time.time() - t0:.0f}s)', flush=True)
    if args.tokenizer_only:
        return

    suite_val = suite_validation(docs)

    import torch
    torch.set_num_threads(2)
    torch.manual_seed(MODEL_SEED)
    eot = VOCAB_SIZE - 1
    docs_ids = [bpe.encode(d) for d in docs]
    T, Bt = TRAIN['seq'], TRAIN['batch']
    windows = pack(docs_ids, eot, T, random.Random(MODEL_SEED))
    held_out = windows[-32:]
    windows = windows[:-32]
    need = args.steps * Bt
    assert len(windows) >= need, f'{len(windows)} windows < {need}: generate more documents'
    counts = Counter(i for w in windows[:need] for i in w[1:])
    total = sum(counts.values())
    unigram = -sum(c / total * math.log(c / total) for c in counts.values())
    print(f'windows: {len(windows)} ({need} used), unigram entropy {unigram:.3f} nats ({time.time() - t0:.0f}s)', flush=True)

    model = make_model(torch, VOCAB_SIZE)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': TRAIN['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=TRAIN['lr'], betas=TRAIN['betas'], eps=1e-8)
    F = torch.nn.functional

    def lr_at(s):
        if s < TRAIN['warmup']:
            return TRAIN['lr'] * (s + 1) / TRAIN['warmup']
        p = (s - TRAIN['warmup']) / max(1, args.steps - TRAIN['warmup'])
        return TRAIN['min_lr'] + 0.5 * (TRAIN['lr'] - TRAIN['min_lr']) * (1 + math.cos(math.pi * p))

    losses = []
    t_train = time.time()
    for s in range(args.steps):
        batch = torch.tensor(windows[s * Bt:(s + 1) * Bt])
        for g in opt.param_groups:
            g['lr'] = lr_at(s)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN['clip'])
        opt.step()
        losses.append(loss.item())
        if s % 10 == 0 or s == args.steps - 1:
            el = time.time() - t_train
            print(f'step {s:4d}  loss {loss.item():.4f}  lr {lr_at(s):.2e}  {el:.0f}s  {(s + 1) * Bt * T / el:.0f} tok/s', flush=True)
    train_time = time.time() - t_train
    model.eval()
    with torch.no_grad():
        hb = torch.tensor(held_out)
        val_loss = F.cross_entropy(model(hb[:, :-1]).reshape(-1, VOCAB_SIZE), hb[:, 1:].reshape(-1)).item()
    final_loss = sum(losses[-10:]) / 10
    print(f'trained {args.steps} steps in {train_time:.0f}s: final loss {final_loss:.4f} (mean of the last 10 steps), held-out {val_loss:.4f}', flush=True)

    # ---- write the model
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB_SIZE, "hidden_size": CFG['hidden'],
           "intermediate_size": CFG['intermediate'], "num_hidden_layers": CFG['layers'], "num_attention_heads": CFG['heads'],
           "num_key_value_heads": CFG['kv_heads'], "max_position_embeddings": CFG['context'], "rms_norm_eps": CFG['eps'],
           "rope_theta": CFG['rope_theta'], "hidden_act": "silu", "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False,
           "rope_scaling": None, "initializer_range": 0.02, "bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot,
           "torch_dtype": "float32"}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    st_path = os.path.join(args.out, 'model.safetensors')
    write_safetensors(st_path, hf_state(model))

    # ---- the saved file against the PyTorch model, and golden logits for the tests
    saved = read_safetensors(torch, st_path)
    gold_text = template('What is the capital of Peru?') + 'Lima'
    gold_ids = bpe.encode(gold_text, bos=True)
    ref = reference_forward(torch, cfg, saved, gold_ids)
    with torch.no_grad():
        ours = model(torch.tensor([gold_ids]))[0].double()
    agree = ((ref - ours).abs().max() / ref.abs().max()).item()
    print(f'saved weights (float64 forward) vs the PyTorch model: max relative difference {agree:.2e}', flush=True)
    assert agree < 1e-5
    os.makedirs(args.fixtures, exist_ok=True)
    with open(os.path.join(args.fixtures, 'golden.json'), 'w') as f:
        json.dump({"model": NAME, "text": gold_text, "ids": gold_ids, "vocab_size": VOCAB_SIZE, "dtype": "F32",
                   "note": "float64 logits (rows = tokens) of the saved weights, from the independent forward in scripts/make_default_model.py",
                   "logits": [float('%.9g' % v) for v in ref.flatten().tolist()]}, f)
        f.write('\n')
    ref_texts = [
        template('What is 37 + 45?') + '82',
        'Which of these is a fruit?\nChoices:\nA. drum\nB. plum\nC. taxi\nD. gray\nAnswer:\n',
        'The capital of Japan is Tokyo. Reverse the letters: g a r d e n',
        "It's 2024: don't WON'T we'll they'RE I'd -- 3.14 x 10 = 31.4!!",
        '  leading and trailing spaces  \n\n\n  tabs\tand\r\nCRLF',
        'Ünïcödé — ça va? 日本語 😀👍🏽 naïve café',
        f'a{EOT}b <|endoftext|>\n{EOT}',
        'x' * 40 + ' ' + 'ab ' * 10,
    ]
    with open(os.path.join(args.fixtures, 'tokenizer_reference.json'), 'w') as f:
        json.dump({"model": NAME, "note": "ids from the recipe's own BPE encoder (scripts/make_default_model.py), without the post-processor's "
                   "<|endoftext|> (bos_id) that encode(text, add_special_tokens) puts first", "bos_id": eot,
                   "cases": [{"text": t, "ids": bpe.encode(t)} for t in ref_texts]}, f, ensure_ascii=False, indent=1)
        f.write('\n')

    # ---- samples and the suite before finetuning
    samples = [
        ('The capital of France is', 12),
        ('23 + 41 =', 6),
        (template('What is the opposite of hot?'), 6),
        (template('Spell the word garden.'), 14),
        ('Anna and Ben went to', 12),
    ]
    gens = [(p, greedy(torch, model, bpe, p, n, eot)) for p, n in samples]
    for p, g in gens:
        print(repr(p), '->', repr(g), flush=True)
    suite_acc = evaluate_suite(torch, model, bpe, eot, suite_val)
    print('suite validation accuracy before finetuning:', {k: round(v, 3) for k, v in suite_acc.items()}, flush=True)
    size = os.path.getsize(st_path)
    stats = dict(params=n_params, tokens=args.steps * Bt * T, steps=args.steps, train_time=train_time, total_time=time.time() - t0,
                 final_loss=final_loss, val_loss=val_loss, unigram=unigram, first_loss=losses[0], size=size, docs=len(docs),
                 chars=sum(map(len, docs)), torch=torch.__version__)
    with open(os.path.join(args.out, 'README.md'), 'w') as f:
        f.write(card(stats, gens, suite_acc, losses))
    print(json.dumps({k: v for k, v in stats.items()}, indent=1))


def suite_section(suite_acc):
    """The card's section on the suite: the base model's accuracy per task, in the suite card's task
    order, beside each task's chance accuracy (both read from public/data/suite/README.md)."""
    card_text = open(os.path.join(SUITE_DIR, 'README.md')).read()
    rows = re.findall(r'^\| `([^`]+)` \| [^|]+\| [^|]+\| [^|]+\| ([0-9.]+)%', card_text, re.M)
    chance = {t: c for t, c in rows}
    mean_chance = re.search(r'Mean chance accuracy[^:]*: ([0-9.]+%)', card_text).group(1)
    acc_md = '\n'.join(f'| `{t}` | {100 * suite_acc[t]:.0f}% | {chance[t]}% |' for t, _ in rows if t in suite_acc)
    mean = sum(suite_acc.values()) / len(suite_acc)
    return f"""{SUITE_HEADING}

Accuracy of this base model on `public/data/suite/validation.jsonl` (50 rows per task; scoring as in the suite's card:
multiple choice = the first greedy token is the gold letter, generative = exact match of the greedy answer, trimmed and
case-folded), with the plain instruction template:

| task | accuracy | chance |
| --- | ---: | ---: |
{acc_md}

Mean: {100 * mean:.0f}% (the suite's mean chance accuracy is {mean_chance}).
"""


def card(st, gens, suite_acc, losses):
    fence = lambda s: '```\n' + s + '\n```'
    sample_md = '\n\n'.join(f'Prompt:\n\n{fence(p.rstrip(chr(10)) if p.endswith(chr(10)) else p)}\n\nGreedy continuation: `{g!r}`' for p, g in gens)
    curve = ', '.join(f'{i}: {sum(losses[max(0, i - 4):i + 1]) / len(losses[max(0, i - 4):i + 1]):.2f}'
                      for i in [0, 10, 25, 50, 100, 150, 200, len(losses) - 1] if i < len(losses))
    return f"""---
license: other
language: en
pipeline_tag: text-generation
library_name: transformers
---

# {NAME}

A tiny pretrained causal language model bundled with MoR1E Studio as the default base model for
finetuning with the paper's adapters in the browser. It is deliberately weak: it knows the
facts and formats of its synthetic corpus but has never seen the tasks of the default suite
(`public/data/suite/`), so a finetune has something clear to improve.

- Architecture: Hugging Face Llama layout (`LlamaForCausalLM`): hidden {CFG['hidden']}, {CFG['layers']} layers, {CFG['heads']} heads
  ({CFG['kv_heads']} key/value heads, head dim {CFG['hidden'] // CFG['heads']}), SwiGLU MLP {CFG['intermediate']}, RMSNorm (eps {CFG['eps']}),
  rotate-half RoPE (theta {CFG['rope_theta']:g}), context {CFG['context']}, tied input/output embeddings.
- Parameters: {st['params']:,} ({st['size'] / 1e6:.1f} MB, F32 safetensors).
- Tokenizer: byte-level BPE (GPT-2 split regex and byte alphabet) trained by the recipe on the corpus: {VOCAB_SIZE} tokens
  (256 bytes, {VOCAB_SIZE - 257} merges, `<|endoftext|>` = id {VOCAB_SIZE - 1} as BOS, EOS and padding). Merges never touch a digit,
  so numbers are read digit by digit. The post-processor puts `<|endoftext|>` first. No chat template: the app uses its
  plain instruction template `### Instruction:\\n{{prompt}}\\n\\n### Response:\\n{{answer}}<|endoftext|>`, which the corpus uses too.
- Training: {st['steps']} steps of {TRAIN['batch']} x {TRAIN['seq']} tokens = {st['tokens']:,} training tokens (one pass, no window repeated), AdamW
  (lr {TRAIN['lr']:g}, {TRAIN['warmup']} warmup steps, cosine to {TRAIN['min_lr']:g}, betas {TRAIN['betas']}, weight decay {TRAIN['weight_decay']} on matrices,
  gradient-norm clip {TRAIN['clip']}), on the CPU (PyTorch {st['torch']}, 2 threads, OpenBLAS): {st['train_time'] / 60:.1f} minutes of training,
  {st['total_time'] / 60:.1f} minutes for the whole recipe.
- Loss (nats/token): first step {st['first_loss']:.2f}; final {st['final_loss']:.3f} (mean of the last 10 steps), {st['val_loss']:.3f} on 32 held-out
  windows; the unigram entropy of the training tokens is {st['unigram']:.2f}. Smoothed curve by step: {curve}.

## Corpus and licence

The corpus is generated by the recipe (`scripts/make_default_model.py`, seed {CORPUS_SEED}): {st['docs']:,} short English documents
({st['chars'] / 1e6:.1f}M characters) from `scripts/default_tables.json` and small grammars: facts in prose (capital cities,
sums and differences, comparisons, spellings and reversals of words and letter strings, letter counts, boolean logic,
number, letter, day and month sequences, word categories, reviews with positive or negative words, short stories), and
examples of other, auxiliary tasks (opposites, plurals, spelling, first letters, subtraction, small products, colours,
animal sounds, counting in words, even or odd) in the app's plain instruction template and in the paper's
multiple-choice form. It is the project's own generated text (no third-party data), under the same terms as this
repository, like the model; the capital cities are public facts. It never uses the suite's prompt wording, and the suite is generated separately
(`scripts/suite.ts`, its own seed 1404): the recipe checks that none of the suite's validation instructions occurs in the
corpus.

## Sample generations

Greedy decoding with the PyTorch model at the end of the recipe.

{sample_md}

{suite_section(suite_acc)}
## Reproducing

```
apt-get install python3-torch libopenblas0-pthread   # Debian's PyTorch (CPU) and a fast BLAS
node scripts/make_suite.mjs                          # the suite (the recipe checks the corpus against it)
python3 scripts/make_default_model.py                # corpus, tokenizer, training, this folder, test fixtures
python3 scripts/make_default_model.py --suite-only   # after a suite change: the corpus check and this card's suite table
```

The corpus, the tokenizer and the window order are exactly reproducible (`--tokenizer-only --out DIR` rebuilds the
tokenizer alone for a byte comparison); the weights are reproducible up to floating-point summation order of the BLAS
and thread count. The recipe also writes `e2e/fixtures/default/golden.json` (float64 logits of the saved weights from an
independent forward) and `tokenizer_reference.json` (the recipe's own encodings of sample texts), which the tests compare
with the app's reference forward, its GPU forward and `@huggingface/tokenizers`.
"""


if __name__ == '__main__':
    main()
