// The default multi-task suite (public/data/suite/): eight small tasks that the bundled tiny model
// learns and that pull an adapter in different directions, in the paper's JSONL shape
// ({instruction, output, task}). Four are multiple choice in the paper's prompt form
// ("…\nChoices:\nA. …\nB. …\nAnswer:\n", the answer one letter; label tasks whose options come in
// a fixed order, each label drawn with equal odds), four generative (a short answer scored by exact
// match, trimmed and case-folded).
// Everything comes from one seed through the project's seeded generator (src/util/random.ts), so
// `generateSuite()` reproduces the committed files byte for byte (tests/default.test.ts checks).
// Written out by scripts/make_suite.mjs; the word lists are scripts/default_tables.json,
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

/** A multiple-choice row whose options always come in the same order (a label task: the letter names the label). */
function mcFixed(question: string, options: readonly string[], correct: string): { instruction: string; output: string } {
  return { instruction: multipleChoicePrompt(question, [...options]), output: 'ABCDEFGH'[options.indexOf(correct)] };
}

/** `n` distinct items of `a` (none equal to `not`). */
function distinct(rng: Random, a: readonly string[], n: number, not: string[] = []): string[] {
  const pool = a.filter((x) => !not.includes(x));
  return rng.shuffle([...pool]).slice(0, n);
}

const CATEGORIES = tables.categories as Record<string, string[]>;
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

/** A yes/no row in the paper's form, the options always `A. yes`, `B. no` (callers draw the label with even odds). */
const yesNo = (question: string, yes: boolean) => mcFixed(question, ['yes', 'no'], yes ? 'yes' : 'no');

/**
 * 3 to 7 letters: a word from the lists or random letters, even odds per draw (so spelling cannot
 * just be recalled); a repeated instruction is redrawn, so about a third of the rows end up words.
 */
function letterString(rng: Random): string {
  return rng.int(2) === 0 ? pick(rng, LETTER_WORDS.filter((w) => w.length >= 3 && w.length <= 7)) : randomLetters(rng, 3 + rng.int(5));
}

// Every multiple-choice task is a label task: its options come in the same order in every row
// ("A. positive / B. negative", "A. yes / B. no"), as in BoolQ-style sets, so the answer letter
// names the label. A finetune of the bundled 2M-parameter model learns such labels within the
// first run; with the options shuffled, finding which letter holds the answer is a second skill
// it did not pick up in the mix (measured with scripts/learnability.py: README "Does it learn?").
export const SUITE_TASKS: SuiteTask[] = [
  {
    name: 'sentiment', kind: 'mc', choices: 2,
    description: 'Is a one-sentence review (built from word lists of positive and negative adjectives) positive or negative? Options always "A. positive", "B. negative".',
    make: (rng) => {
      const positive = rng.int(2) === 0;
      return mcFixed(`Review: ${review(rng, positive)}\nIs the review positive or negative?`, ['positive', 'negative'], positive ? 'positive' : 'negative');
    },
  },
  {
    name: 'compare', kind: 'mc', choices: 2,
    description: 'Is the first of two numbers (1 to 99) larger or smaller than the second? Options always "A. larger", "B. smaller".',
    make: (rng) => {
      const a = 1 + rng.int(99);
      let b = 1 + rng.int(98);
      if (b >= a) b++;
      return mcFixed(`Is ${a} larger or smaller than ${b}?`, ['larger', 'smaller'], a > b ? 'larger' : 'smaller');
    },
  },
  {
    name: 'long_word', kind: 'mc', choices: 2,
    description: 'Does a random string of 3 to 8 letters have more than five letters? Yes and no with even odds. Options always "A. yes", "B. no".',
    make: (rng) => {
      const yes = rng.int(2) === 0;
      // Random letters only: the word lists have few words of six or more letters, so words would
      // mostly mean `no`, a shortcut around counting.
      const w = randomLetters(rng, yes ? 6 + rng.int(3) : 3 + rng.int(3));
      return yesNo(`Does ${spaced(w)} have more than five letters?`, yes);
    },
  },
  {
    name: 'vowel', kind: 'mc', choices: 2,
    description: 'Does a random string of 3 to 6 letters start with a vowel (a, e, i, o, u)? Yes and no with even odds. Options always "A. yes", "B. no".',
    make: (rng) => {
      const yes = rng.int(2) === 0;
      const firsts = [...LOWER].filter((c) => 'aeiou'.includes(c) === yes);
      const w = pick(rng, firsts) + randomLetters(rng, 2 + rng.int(4));
      return yesNo(`Does ${spaced(w)} start with a vowel?`, yes);
    },
  },
  {
    name: 'length', kind: 'gen',
    description: 'How many letters a spelled-out word or random string has (3 to 7).',
    make: (rng) => {
      const w = letterString(rng);
      return { instruction: `How many letters are in ${spaced(w)}?`, output: String(w.length) };
    },
  },
  {
    name: 'first_letter', kind: 'gen',
    description: 'The first letter of a spelled-out word or random string.',
    make: (rng) => {
      const w = letterString(rng);
      return { instruction: `Which letter does ${spaced(w)} start with?`, output: w[0] };
    },
  },
  {
    name: 'last_letter', kind: 'gen',
    description: 'The last letter of a spelled-out word or random string.',
    make: (rng) => {
      const w = letterString(rng);
      return { instruction: `What is the last letter of ${spaced(w)}?`, output: w[w.length - 1] };
    },
  },
  {
    name: 'reverse', kind: 'gen',
    description: 'Three letters in reverse order, written with spaces between them: random letters, or for a quarter of the draws a three-letter word from the lists (repeats are redrawn, so few rows are words).',
    make: (rng) => {
      const w = rng.int(4) === 0 ? pick(rng, LETTER_WORDS.filter((x) => x.length === 3)) : randomLetters(rng, 3);
      return { instruction: `Reverse the letters: ${spaced(w)}`, output: spaced([...w].reverse().join('')) };
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

/**
 * Chance accuracy of a task on `rows`: the accuracy of always giving its most common answer (the
 * best constant guess), and for multiple choice at least 1/#choices (a random letter).
 */
export function chanceAccuracy(task: SuiteTask, rows: SuiteRow[]): { value: number; how: string } {
  const counts = new Map<string, number>();
  const mine = rows.filter((r) => r.task === task.name);
  for (const r of mine) counts.set(r.output.trim().toLowerCase(), (counts.get(r.output.trim().toLowerCase()) ?? 0) + 1);
  const [answer, n] = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  const constant = { value: n / mine.length, how: `always answering "${task.kind === 'mc' ? answer.toUpperCase() : answer}" (the most common answer)` };
  if (task.kind === 'mc' && 1 / task.choices! >= constant.value) return { value: 1 / task.choices!, how: `1/${task.choices} (a random letter)` };
  return constant;
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
    '(word sentiment, comparing numbers, counting letters, first and last letters, vowels, reversal).',
    '',
    `- Files: \`train.jsonl\` (${train.length} rows) and \`validation.jsonl\` (${validation.length} rows), one JSON object a line`,
    "  in the paper's shape `{\"instruction\", \"output\", \"task\"}`, tasks mixed (seeded shuffle).",
    `- Made by \`node scripts/make_suite.mjs\` (the generator is \`scripts/suite.ts\`, the word lists and facts`,
    `  \`scripts/default_tables.json\`) with seed ${seed}: the same seed gives the same bytes. Every instruction is distinct`,
    '  across both files, so no validation row appears in training.',
    "- Multiple-choice rows use the paper's prompt form `…\\nChoices:\\nA. …\\nB. …\\nAnswer:\\n` and a one-letter answer;",
    '  every task is a label task whose options come in the same order in every row (`A. positive` / `B. negative`,',
    '  `A. larger` / `B. smaller`, `A. yes` / `B. no`), each label drawn with equal odds. Scoring as in the paper: greedy',
    '  decoding of one token, compared with the gold letter.',
    '- Generative rows have short answers (a number, a letter, spaced letters). Scoring: greedy decoding',
    '  to the end-of-sequence token, then exact match after trimming whitespace and case-folding both sides.',
    '- Chance accuracy: the accuracy of always giving a task\'s most common validation answer (the best constant guess;',
    '  for multiple choice at least 1/#choices), so a model that learned one constant answer is never above chance.',
    '- Licence: generated text, written for this project (no third-party data).',
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
