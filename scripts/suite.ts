// The default multi-task suite (public/data/suite/): nine small tasks that a tiny model can learn
// and that pull an adapter in different directions, in the paper's JSONL shape
// ({instruction, output, task}). Four are multiple choice in the paper's prompt form
// ("…\nChoices:\nA. …\nB. …\nAnswer:\n", the answer one letter, the correct letter uniformly placed),
// five generative (a short answer scored by exact match, trimmed and case-folded).
// Everything comes from one seed through the project's seeded generator (src/util/random.ts), so
// `generateSuite()` reproduces the committed files byte for byte (tests/default.test.ts checks).
// Written out by scripts/make_suite.mjs; the word lists and facts are scripts/default_tables.json,
// which the base model's pretraining corpus (scripts/make_default_model.py) also draws on.
import tables from './default_tables.json';
import { mixSeed, Random } from '../src/util/random.ts';
import { multipleChoicePrompt } from '../src/data/shapes.ts';

export interface SuiteRow {
  instruction: string;
  output: string;
  task: string;
}

export interface SuiteTask {
  name: string;
  /** 'mc': the answer is one letter of `choices`; 'gen': a short text, exact match. */
  kind: 'mc' | 'gen';
  choices?: number;
  description: string;
  make: (rng: Random) => { instruction: string; output: string };
}

export interface SuiteOptions {
  seed?: number;
  trainPerTask?: number;
  validationPerTask?: number;
}

export const SUITE_SEED = 1404;
export const TRAIN_PER_TASK = 500;
export const VALIDATION_PER_TASK = 50;

const pick = <T>(rng: Random, a: readonly T[]): T => a[rng.int(a.length)];
const spaced = (w: string) => w.split('').join(' ');
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/** A multiple-choice row: the correct choice at a uniformly drawn letter, the distractors around it in random order. */
function mc(rng: Random, question: string, correct: string, distractors: string[]): { instruction: string; output: string } {
  const others = rng.shuffle([...distractors]);
  const at = rng.int(others.length + 1);
  const choices = [...others.slice(0, at), correct, ...others.slice(at)];
  return { instruction: multipleChoicePrompt(question, choices), output: 'ABCDEFGH'[at] };
}

/** `n` distinct items of `a` (none equal to `not`). */
function distinct(rng: Random, a: readonly string[], n: number, not: string[] = []): string[] {
  const pool = a.filter((x) => !not.includes(x));
  return rng.shuffle([...pool]).slice(0, n);
}

const CAPITALS = tables.capitals as Array<[string, string]>;
const CATEGORIES = tables.categories as Record<string, string[]>;
const CATEGORY_NAMES = Object.keys(CATEGORIES);
const article = (w: string) => (/^[aeiou]/.test(w) ? 'an' : 'a');
/** Lower-case words of letters only, for the letter tasks. */
const LETTER_WORDS = [...new Set([...tables.words, ...Object.values(CATEGORIES).flat()])].filter((w) => /^[a-z]+$/.test(w));

function randomLetters(rng: Random, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LOWER[rng.int(26)];
  return s;
}

function review(rng: Random, positive: boolean): string {
  const adjs = positive ? tables.positive : tables.negative;
  const [n1, n2] = distinct(rng, tables.review_nouns, 2);
  const [a1, a2] = distinct(rng, adjs, 2);
  switch (rng.int(5)) {
    case 0: return `The ${n1} was ${a1}.`;
    case 1: return `The ${n1} was ${a1} and the ${n2} was ${a2}.`;
    case 2: return `What ${article(a1)} ${a1} ${n1}!`;
    case 3: return `I thought the ${n1} was really ${a1}.`;
    default: return `${a1[0].toUpperCase()}${a1.slice(1)} ${n1}, ${a2} ${n2}.`;
  }
}

type Expr = { text: string; value: boolean; group: boolean };
const lit = (rng: Random): Expr => {
  const v = rng.int(2) === 0;
  return rng.int(3) === 0 ? { text: `not ${v}`, value: !v, group: false } : { text: String(v), value: v, group: false };
};
const paren = (e: Expr) => (e.group ? `(${e.text})` : e.text);
const binary = (rng: Random, a: Expr, b: Expr): Expr => {
  const and = rng.int(2) === 0;
  return { text: `${paren(a)} ${and ? 'and' : 'or'} ${paren(b)}`, value: and ? a.value && b.value : a.value || b.value, group: true };
};

function logicExpr(rng: Random): Expr {
  switch (rng.int(4)) {
    case 0: return binary(rng, lit(rng), lit(rng));
    case 1: return binary(rng, binary(rng, lit(rng), lit(rng)), lit(rng));
    case 2: return binary(rng, lit(rng), binary(rng, lit(rng), lit(rng)));
    default: {
      const inner = binary(rng, lit(rng), lit(rng));
      return { text: `not (${inner.text})`, value: !inner.value, group: false };
    }
  }
}

function sequence(rng: Random): { items: string[]; next: string } {
  const kind = rng.int(10);
  if (kind < 4) {
    const start = 1 + rng.int(40), step = 1 + rng.int(9);
    const xs = [0, 1, 2, 3, 4].map((i) => String(start + i * step));
    return { items: xs.slice(0, 4), next: xs[4] };
  }
  if (kind < 6) {
    const start = 60 + rng.int(40), step = 2 + rng.int(8);
    const xs = [0, 1, 2, 3, 4].map((i) => String(start - i * step));
    return { items: xs.slice(0, 4), next: xs[4] };
  }
  if (kind < 8) {
    const step = 1 + rng.int(2), start = rng.int(26 - 4 * step);
    const xs = [0, 1, 2, 3, 4].map((i) => LOWER[start + i * step]);
    return { items: xs.slice(0, 4), next: xs[4] };
  }
  const cycle = kind === 8 ? tables.days : tables.months;
  const start = rng.int(cycle.length), n = 3;
  const xs = Array.from({ length: n + 1 }, (_, i) => cycle[(start + i) % cycle.length]);
  return { items: xs.slice(0, n), next: xs[n] };
}

export const SUITE_TASKS: SuiteTask[] = [
  {
    name: 'sentiment', kind: 'mc', choices: 2,
    description: 'Is a one-sentence review (built from word lists of positive and negative adjectives) positive or negative?',
    make: (rng) => {
      const positive = rng.int(2) === 0;
      const text = review(rng, positive);
      return mc(rng, `Review: ${text}\nIs the review positive or negative?`, positive ? 'positive' : 'negative', [positive ? 'negative' : 'positive']);
    },
  },
  {
    name: 'addition', kind: 'gen',
    description: 'The sum of two two-digit numbers.',
    make: (rng) => {
      const a = 10 + rng.int(90), b = 10 + rng.int(90);
      return { instruction: `What is ${a} + ${b}?`, output: String(a + b) };
    },
  },
  {
    name: 'reverse', kind: 'gen',
    description: 'The letters of a word (or of a random string) in reverse order; letters are written with spaces between them.',
    make: (rng) => {
      const pool = LETTER_WORDS.filter((w) => w.length >= 3 && w.length <= 6);
      const w = rng.int(2) === 0 ? pick(rng, pool) : randomLetters(rng, 3 + rng.int(3));
      return { instruction: `Reverse the letters: ${spaced(w)}`, output: spaced([...w].reverse().join('')) };
    },
  },
  {
    name: 'letter_count', kind: 'gen',
    description: 'How many times a letter appears in a spelled-out word or random string (answers 0 to 3, equally often).',
    make: (rng) => {
      const k = rng.int(4);
      for (;;) {
        if (rng.int(2) === 0) {
          const w = pick(rng, LETTER_WORDS.filter((x) => x.length >= 4 && x.length <= 8));
          const letters = [...LOWER].filter((c) => w.split(c).length - 1 === k);
          if (!letters.length) continue;
          const c = pick(rng, letters);
          return { instruction: `How many times does the letter ${c} appear in ${spaced(w)}?`, output: String(k) };
        }
        const n = 5 + rng.int(3), c = LOWER[rng.int(26)];
        const chars = Array.from({ length: n }, (_, i) => (i < k ? c : LOWER.replace(c, '')[rng.int(25)]));
        return { instruction: `How many times does the letter ${c} appear in ${spaced(rng.shuffle(chars).join(''))}?`, output: String(k) };
      }
    },
  },
  {
    name: 'capital', kind: 'mc', choices: 4,
    description: `The capital city of a country, from a bundled table of ${CAPITALS.length} countries (scripts/default_tables.json).`,
    make: (rng) => {
      const [country, capital] = pick(rng, CAPITALS);
      return mc(rng, `What is the capital of ${country}?`, capital, distinct(rng, CAPITALS.map((c) => c[1]), 3, [capital]));
    },
  },
  {
    name: 'compare', kind: 'mc', choices: 2,
    description: 'Which of two numbers (1 to 99) is larger, or smaller.',
    make: (rng) => {
      const a = 1 + rng.int(99);
      let b = 1 + rng.int(98);
      if (b >= a) b++;
      const larger = rng.int(2) === 0;
      const correct = larger === a > b ? a : b;
      return mc(rng, `Which number is ${larger ? 'larger' : 'smaller'}?`, String(correct), [String(correct === a ? b : a)]);
    },
  },
  {
    name: 'logic', kind: 'gen',
    description: 'The value (true or false) of a boolean expression with and, or, not and parentheses (not binds tightest). Answers are balanced.',
    make: (rng) => {
      const want = rng.int(2) === 0;
      for (;;) {
        const e = logicExpr(rng);
        if (e.value === want) return { instruction: `Is this true or false? ${e.text}`, output: String(e.value) };
      }
    },
  },
  {
    name: 'sequence', kind: 'gen',
    description: 'The next item of a sequence: numbers counting up or down by a fixed step, letters by a step of 1 or 2, days of the week, months.',
    make: (rng) => {
      const s = sequence(rng);
      return { instruction: `What comes next in the sequence: ${s.items.join(', ')}`, output: s.next };
    },
  },
  {
    name: 'category', kind: 'mc', choices: 4,
    description: `Which of four words belongs to a category (${CATEGORY_NAMES.join(', ')}); the other three come from three other categories.`,
    make: (rng) => {
      const cat = pick(rng, CATEGORY_NAMES);
      const others = distinct(rng, CATEGORY_NAMES, 3, [cat]).map((c) => pick(rng, CATEGORIES[c]));
      return mc(rng, `Which of these is ${article(cat)} ${cat}?`, pick(rng, CATEGORIES[cat]), others);
    },
  },
];

/**
 * The suite: for each task (its own generator, seeded by the suite seed and the task's index),
 * validation rows first, then training rows, every instruction distinct across the whole suite;
 * each file is then shuffled (seeded) so tasks are mixed.
 */
export function generateSuite(options: SuiteOptions = {}): { train: SuiteRow[]; validation: SuiteRow[] } {
  const seed = options.seed ?? SUITE_SEED;
  const nTrain = options.trainPerTask ?? TRAIN_PER_TASK, nVal = options.validationPerTask ?? VALIDATION_PER_TASK;
  const seen = new Set<string>();
  const train: SuiteRow[] = [], validation: SuiteRow[] = [];
  SUITE_TASKS.forEach((task, t) => {
    const rng = new Random(mixSeed(seed, t));
    let tries = 0;
    for (let made = 0; made < nVal + nTrain; ) {
      if (++tries > 100 * (nVal + nTrain)) throw new Error(`suite: task ${task.name} cannot make ${nVal + nTrain} distinct rows`);
      const row = task.make(rng);
      if (seen.has(row.instruction)) continue;
      seen.add(row.instruction);
      (made < nVal ? validation : train).push({ instruction: row.instruction, output: row.output, task: task.name });
      made++;
    }
  });
  const mix = new Random(mixSeed(seed, 1000));
  return { train: mix.shuffle(train), validation: mix.shuffle(validation) };
}

/** One JSON object per line, in field order instruction, output, task; a trailing newline. */
export function toJsonl(rows: SuiteRow[]): string {
  return rows.map((r) => JSON.stringify({ instruction: r.instruction, output: r.output, task: r.task })).join('\n') + '\n';
}

/** Chance accuracy of a task on `rows`: 1/#choices for multiple choice; for generative tasks, always answering the most common answer. */
export function chanceAccuracy(task: SuiteTask, rows: SuiteRow[]): { value: number; how: string } {
  if (task.kind === 'mc') return { value: 1 / task.choices!, how: `1/${task.choices} (random letter)` };
  const counts = new Map<string, number>();
  const mine = rows.filter((r) => r.task === task.name);
  for (const r of mine) counts.set(r.output.trim().toLowerCase(), (counts.get(r.output.trim().toLowerCase()) ?? 0) + 1);
  const [answer, n] = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  return { value: n / mine.length, how: `always answering "${answer}" (the most common answer)` };
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;

/** The suite's card (public/data/suite/README.md): what each task is, an example, its chance accuracy. */
export function suiteCard({ seed, train, validation }: { seed: number; train: SuiteRow[]; validation: SuiteRow[] }): string {
  const count = (rows: SuiteRow[], t: string) => rows.filter((r) => r.task === t).length;
  const lines = [
    '# The MoR1E default suite',
    '',
    `${SUITE_TASKS.length} small tasks for finetuning the bundled base model (\`public/models/mor1e-tiny/\`) with the`,
    "paper's adapters: they are learnable by a tiny model and pull an adapter in different directions",
    '(word sentiment, arithmetic, letter manipulation, facts, comparison, logic, patterns, categories).',
    '',
    `- Files: \`train.jsonl\` (${train.length} rows) and \`validation.jsonl\` (${validation.length} rows), one JSON object a line`,
    "  in the paper's shape `{\"instruction\", \"output\", \"task\"}`, tasks mixed (seeded shuffle).",
    `- Made by \`node scripts/make_suite.mjs\` (the generator is \`scripts/suite.ts\`, the word lists and facts`,
    `  \`scripts/default_tables.json\`) with seed ${seed}: the same seed gives the same bytes. Every instruction is distinct`,
    '  across both files, so no validation row appears in training.',
    "- Multiple-choice rows use the paper's prompt form `…\\nChoices:\\nA. …\\nB. …\\nAnswer:\\n` and a one-letter answer;",
    '  the correct letter is drawn uniformly, so every letter is equally often right. Scoring as in the paper: greedy',
    '  decoding of one token, compared with the gold letter.',
    '- Generative rows have short answers (a number, a word, spaced letters, `true` / `false`). Scoring: greedy decoding',
    '  to the end-of-sequence token, then exact match after trimming whitespace and case-folding both sides.',
    '- Chance accuracy: 1/#choices for multiple choice; for a generative task, the accuracy of always giving its most',
    '  common validation answer (the best constant guess).',
    '- Licence: generated text, written for this project (no third-party data); the capital cities are public facts.',
    '- The base model\'s pretraining corpus (`scripts/make_default_model.py`) states the same kinds of facts in prose,',
    "  generated with its own seeds, never in the suite's prompt wording; its recipe checks that no validation",
    '  instruction occurs in the corpus.',
    '',
    '| task | kind | train | validation | chance accuracy |',
    '| --- | --- | ---: | ---: | --- |',
  ];
  for (const t of SUITE_TASKS) {
    const c = chanceAccuracy(t, validation);
    lines.push(`| \`${t.name}\` | ${t.kind === 'mc' ? `multiple choice (${t.choices})` : 'generative'} | ${count(train, t.name)} | ${count(validation, t.name)} | ${pct(c.value)}: ${c.how} |`);
  }
  const mean = SUITE_TASKS.reduce((s, t) => s + chanceAccuracy(t, validation).value, 0) / SUITE_TASKS.length;
  lines.push('', `Mean chance accuracy over the tasks (unweighted, as the paper averages datasets): ${pct(mean)}.`, '', '## Tasks', '');
  for (const t of SUITE_TASKS) {
    const ex = validation.find((r) => r.task === t.name)!;
    lines.push(`### \`${t.name}\``, '', t.description, '', 'Example (validation):', '', '```', ex.instruction.replace(/\n$/, ''), '```', '', `Answer: \`${ex.output}\``, '');
  }
  return lines.join('\n');
}
