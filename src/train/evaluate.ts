// Per-task evaluation as the paper does it: a multiple-choice row is scored by greedy decoding of
// one token after the prompt, compared with the gold letter (the paper's protocol), and, as a
// second score, by which choice letter's first token has the highest logit; a generative row by
// exact match of its greedy continuation (up to EOS) after trimming and case folding. Accuracy
// per task and the unweighted mean over tasks. The logits come from a LogitsSource: the base
// model, the model with its adapter, or the float64 reference, so the scorer is one code path.
import type { Example } from '../data/types.ts';

export interface LogitsSource {
  /** Vocabulary size: rows of the returned logits. */
  readonly vocabSize: number;
  /**
   * Logits (n x V) of the next token after each sequence, i.e. at its last position; `s` holds
   * each sequence's intuition scores (n x k) where the adapter routes with them, else null.
   */
  nextLogits(seqs: number[][], s: number[][] | null): Promise<Float32Array>;
}

export interface EvalItem {
  /** Example index (for reports). */
  row: number;
  task: string;
  ex: Example;
  promptIds: number[];
  /** The row's intuition scores (k), or null. */
  s: number[] | null;
}

export interface TaskScore {
  n: number;
  /** Greedy decoding (multiple choice: the first token's letter; generative: exact match). */
  accuracy: number;
  /** Multiple-choice rows only: the highest-logit choice letter. */
  likelihoodAccuracy?: number;
}

export interface EvalResult {
  tasks: Record<string, TaskScore>;
  /** Unweighted mean over tasks of `accuracy`. */
  mean: number;
  /** Per row: correct by greedy decoding, and the text it produced. */
  rows: Array<{ row: number; task: string; correct: boolean; output: string }>;
}

export interface Decoder {
  decode(ids: number[]): string;
  /** First token id of a choice letter as the answer begins (the letter alone). */
  letterId(letter: string): number;
  eosId: number | null;
}

function argmax(v: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[off + i] > v[off + best]) best = i;
  return best;
}

/** Trimmed, case-folded, inner whitespace collapsed. */
export function normaliseAnswer(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * Scores items in batches of `batchSize`: one forward for the multiple-choice rows; greedy
 * decoding of up to (answer tokens + 4) tokens for generative rows, stopping at EOS.
 */
export async function evaluateItems(
  src: LogitsSource, dec: Decoder, items: EvalItem[], opts: { batchSize: number; answerTokens: (ex: Example) => number; onProgress?: (done: number, total: number) => void },
): Promise<EvalResult> {
  const V = src.vocabSize;
  const rows: EvalResult['rows'] = [];
  const byTask = new Map<string, { n: number; correct: number; mc: number; likelihood: number }>();
  const tally = (task: string) => {
    let t = byTask.get(task);
    if (!t) byTask.set(task, (t = { n: 0, correct: 0, mc: 0, likelihood: 0 }));
    return t;
  };
  const mc = items.filter((i) => i.ex.mc);
  const gen = items.filter((i) => !i.ex.mc);
  let done = 0;
  for (let b = 0; b < mc.length; b += opts.batchSize) {
    const batch = mc.slice(b, b + opts.batchSize);
    const logits = await src.nextLogits(batch.map((i) => i.promptIds), batch[0].s ? batch.map((i) => i.s!) : null);
    batch.forEach((it, j) => {
      const { letters, answer } = it.ex.mc!;
      const top = argmax(logits, j * V, V);
      const output = dec.decode([top]);
      const greedy = output.trim().toUpperCase().startsWith(answer);
      let bestLetter = letters[0], bestLogit = -Infinity;
      for (const l of letters) {
        const v = logits[j * V + dec.letterId(l)];
        if (v > bestLogit) {
          bestLogit = v;
          bestLetter = l;
        }
      }
      const t = tally(it.task);
      t.n++;
      t.mc++;
      if (greedy) t.correct++;
      if (bestLetter === answer) t.likelihood++;
      rows.push({ row: it.row, task: it.task, correct: greedy, output });
    });
    done += batch.length;
    opts.onProgress?.(done, items.length);
  }
  for (let b = 0; b < gen.length; b += opts.batchSize) {
    const batch = gen.slice(b, b + opts.batchSize);
    const seqs = batch.map((i) => [...i.promptIds]);
    const out: number[][] = batch.map(() => []);
    const finished = batch.map(() => false);
    const limit = Math.max(...batch.map((i) => opts.answerTokens(i.ex) + 4));
    for (let step = 0; step < limit && finished.some((f) => !f); step++) {
      const live = batch.map((_, j) => j).filter((j) => !finished[j]);
      const logits = await src.nextLogits(live.map((j) => seqs[j]), batch[0].s ? live.map((j) => batch[j].s!) : null);
      live.forEach((j, r) => {
        const id = argmax(logits, r * V, V);
        if (id === dec.eosId || out[j].length >= opts.answerTokens(batch[j].ex) + 4) finished[j] = true;
        else {
          out[j].push(id);
          seqs[j].push(id);
        }
      });
    }
    batch.forEach((it, j) => {
      const output = dec.decode(out[j]);
      const correct = normaliseAnswer(output) === normaliseAnswer(it.ex.answer);
      const t = tally(it.task);
      t.n++;
      if (correct) t.correct++;
      rows.push({ row: it.row, task: it.task, correct, output });
    });
    done += batch.length;
    opts.onProgress?.(done, items.length);
  }
  const tasks: Record<string, TaskScore> = {};
  for (const [task, t] of [...byTask].sort(([a], [b]) => a.localeCompare(b)))
    tasks[task] = { n: t.n, accuracy: t.correct / t.n, ...(t.mc ? { likelihoodAccuracy: t.likelihood / t.mc } : {}) };
  const accs = Object.values(tasks).map((t) => t.accuracy);
  return { tasks, mean: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : 0, rows };
}
