// Tokenized rows in flat typed arrays, the stratified train/validation split, and the batches the
// trainer consumes: a seeded shuffle per epoch, length buckets (rows of similar length batched
// together, so little padding), padding to the batch's longest row (or a fixed length) with a
// mask, and a cursor (epoch, position, RNG state) that can be saved and restored (the shape of
// llm.c's dataloader: init, next, reset, resume).
import { mixSeed, Random } from '../util/random.ts';
import { truncate, type Tokenized } from './tokenize.ts';
import type { DataCursor, DatasetBatch } from './types.ts';

export const IGNORE = -100;

/** Every row's tokens and loss flags back to back. */
export class TokenStore {
  private ids = new Int32Array(1 << 16);
  private loss = new Uint8Array(1 << 16);
  private used = 0;
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  readonly answerStarts: number[] = [];

  get rows(): number {
    return this.lengths.length;
  }

  push(t: Tokenized): number {
    const n = t.ids.length;
    if (this.used + n > this.ids.length) {
      let cap = this.ids.length;
      while (this.used + n > cap) cap *= 2;
      const ids = new Int32Array(cap);
      ids.set(this.ids.subarray(0, this.used));
      const loss = new Uint8Array(cap);
      loss.set(this.loss.subarray(0, this.used));
      this.ids = ids;
      this.loss = loss;
    }
    this.ids.set(t.ids, this.used);
    this.loss.set(t.loss, this.used);
    this.offsets.push(this.used);
    this.lengths.push(n);
    this.answerStarts.push(t.answerStart);
    this.used += n;
    return this.rows - 1;
  }

  row(i: number): Tokenized {
    const o = this.offsets[i], n = this.lengths[i];
    return { ids: Array.from(this.ids.subarray(o, o + n)), loss: Array.from(this.loss.subarray(o, o + n)), answerStart: this.answerStarts[i] };
  }

  get tokens(): number {
    return this.used;
  }
}

/**
 * Validation rows: per task, a seeded share (at least one row of every task that has two or
 * more, never all of them), so every task appears on both sides.
 */
export function stratifiedSplit(taskOf: ArrayLike<number>, tasks: number, fraction: number, seed: number): { train: number[]; validation: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validationFraction must be in [0, 1), got ${fraction}`);
  const byTask: number[][] = Array.from({ length: tasks }, () => []);
  for (let i = 0; i < taskOf.length; i++) byTask[taskOf[i]].push(i);
  const validation: number[] = [];
  const isVal = new Uint8Array(taskOf.length);
  byTask.forEach((rows, t) => {
    if (fraction === 0 || rows.length < 2) return;
    const pick = new Random(mixSeed(seed, 0x5e11, t)).shuffle([...rows]);
    const n = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
    for (const r of pick.slice(0, n)) isVal[r] = 1;
  });
  const train: number[] = [];
  for (let i = 0; i < taskOf.length; i++) (isVal[i] ? validation : train).push(i);
  return { train, validation };
}

/** Rows of one batch → the padded tensors (inputs are ids[0..n−1), targets ids[1..n) where the loss flag says). */
export function makeBatch(store: TokenStore, rows: number[], tasks: number[], opts: { maxLength: number; padTo: number | null; padId: number; keepHead: number }): DatasetBatch {
  const seqs = rows.map((r) => truncate(store.row(r), opts.maxLength, opts.keepHead));
  const longest = Math.max(...seqs.map((s) => s.ids.length - 1));
  if (opts.padTo !== null && opts.padTo < longest) throw new RangeError(`padTo ${opts.padTo} is shorter than the batch's longest sequence (${longest} tokens); raise it or lower maxLength`);
  const T = opts.padTo ?? longest;
  const B = rows.length;
  const ids = new Array<number>(B * T).fill(opts.padId);
  const targets = new Array<number>(B * T).fill(IGNORE);
  const mask = new Array<number>(B * T).fill(0);
  seqs.forEach((s, b) => {
    for (let i = 0; i < s.ids.length - 1; i++) {
      ids[b * T + i] = s.ids[i];
      targets[b * T + i] = s.loss[i + 1] ? s.ids[i + 1] : IGNORE;
      mask[b * T + i] = 1;
    }
  });
  return { B, T, ids, targets, mask, task: [...tasks], rows: [...rows], s: null };
}

/**
 * Rows per bucket window: rows are sorted by length within a window of this many batches. Small
 * on purpose: a window of 32 batches cut padding to the minimum but made most batches one task
 * (the rows of a task have similar lengths), and the bundled model then learned the suite's mix
 * worse (scripts/learnability.py --bucket: mean 49-56% over two seeds at 32, 54-68% over three at 4,
 * 65-81% unsorted); 4 keeps a batch's most common task near half the batch for about 10% more
 * padded tokens than 32 (README "Does it learn?").
 */
export const BUCKET_BATCHES = 4;

/**
 * One epoch's batches (row indices): shuffle the training rows, sort each window of
 * BUCKET_BATCHES·B rows by length, cut it into batches of B, and shuffle the batch order. Every
 * row appears exactly once; only the epoch's last batch may be smaller than B.
 */
export function epochBatches(train: number[], lengths: ArrayLike<number>, B: number, rngState: number): number[][] {
  if (!(Number.isInteger(B) && B >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${B}`);
  const rng = new Random(0).restore(rngState);
  const order = rng.shuffle([...train]);
  const batches: number[][] = [];
  const win = B * BUCKET_BATCHES;
  for (let w = 0; w < order.length; w += win) {
    const chunk = order.slice(w, w + win).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let i = 0; i < chunk.length; i += B) batches.push(chunk.slice(i, i + B));
  }
  // Keep the one short batch last, so a resumed cursor and the epoch length agree.
  const last = batches.length && batches[batches.length - 1].length < B ? batches.pop()! : null;
  rng.shuffle(batches);
  if (last) batches.push(last);
  return batches;
}

/** The epoch's generator state: a function of the seed and the epoch only. */
export function epochRngState(seed: number, epoch: number): number {
  return mixSeed(seed, 0xe90c, epoch);
}

/** The training reader: the current epoch's batches and where the cursor stands in them. */
export class TrainReader {
  private cursor: DataCursor;
  private batches: number[][] | null = null;

  constructor(
    private readonly train: number[],
    private readonly lengths: ArrayLike<number>,
    cursor: Omit<DataCursor, 'rngState' | 'epoch' | 'position'> & Partial<DataCursor>,
  ) {
    if (!train.length) throw new RangeError('the training split is empty');
    const epoch = cursor.epoch ?? 0;
    this.cursor = { epoch, position: 0, rngState: epochRngState(cursor.seed, epoch), ...cursor };
  }

  get state(): DataCursor {
    return { ...this.cursor };
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.train.length / this.cursor.batchSize);
  }

  private epochList(): number[][] {
    this.batches ??= epochBatches(this.train, this.lengths, this.cursor.batchSize, this.cursor.rngState);
    return this.batches;
  }

  /** The next batch's rows, and the cursor moved past it (into the next epoch at the end). */
  next(): number[] {
    const list = this.epochList();
    const rows = list[this.cursor.position];
    this.cursor.position++;
    if (this.cursor.position >= list.length) {
      const epoch = this.cursor.epoch + 1;
      this.cursor = { ...this.cursor, epoch, position: 0, rngState: epochRngState(this.cursor.seed, epoch) };
      this.batches = null;
    }
    return rows;
  }

  /** The next `count` batches' rows without moving the cursor. */
  peek(count: number): number[][] {
    const saved = { ...this.cursor };
    const savedBatches = this.batches;
    const out: number[][] = [];
    for (let i = 0; i < count; i++) out.push(this.next());
    this.cursor = saved;
    this.batches = savedBatches;
    return out;
  }
}

/** Validation batches: every validation row once, in length order (fixed, so losses compare across steps). */
export function validationBatches(validation: number[], lengths: ArrayLike<number>, B: number): number[][] {
  const order = [...validation].sort((a, b) => lengths[a] - lengths[b] || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += B) out.push(order.slice(i, i + B));
  return out;
}
