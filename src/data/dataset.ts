// A dataset in the worker: imported from a file, text or URL (records → examples with every
// problem counted by line), tokenized with the loaded model's tokenizer (again whenever the model
// changes), split by task, and read in batches through a cursor that can be saved and restored.
import type { TextTokenizer } from '../model/tokenizer.ts';
import { DatasetError, detectFormat, inputName, peekFirst, records, textChunks, type Json, type ReadProgress, type RecordItem } from './records.ts';
import { detectShape, lowerKeys, mappingError, normaliseRecord, type NormaliseContext } from './shapes.ts';
import { tokenizeContext, tokenizeExample, truncate, type TokenizeContext } from './tokenize.ts';
import { makeBatch, stratifiedSplit, TokenStore, TrainReader, validationBatches } from './batches.ts';
import type { BatchOptions, DataCursor, DatasetBatch, DatasetInput, Example, ImportOptions, ImportResult, PeekRequest, PreviewRequest, PreviewResult, PreviewRow, Problem } from './types.ts';

export const MAX_PROBLEMS = 1000;
export const DEFAULT_MAX_LENGTH = 512;
/** Characters of a field that a preview row carries. */
export const PREVIEW_CLIP = 2000;
/** Records looked at to recognise the shape. */
const SHAPE_SAMPLE = 200;

export interface TokenizerInfo {
  tok: TextTokenizer;
  eosId: number | null;
  /** The model's context: no row may be longer. */
  maxPositions: number;
}

class ProblemLog {
  readonly list: Problem[] = [];
  count = 0;
  readonly byReason: Record<string, number> = {};
  add(p: Problem, reason?: string): void {
    this.count++;
    if (this.list.length < MAX_PROBLEMS) this.list.push(p);
    if (reason) this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }
}

/** A 53-bit hash (cyrb53) of a row's task, kind and texts, to find duplicates without a second copy of every text. */
function rowHash(ex: Example): number {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  const feed = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ 0xffff, 2654435761); // field separator
  };
  feed(ex.task);
  feed(ex.kind);
  if (ex.messages) for (const m of ex.messages) { feed(m.role); feed(m.content); }
  else { feed(ex.prompt); feed(ex.answer); }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function sameRow(a: Example, b: Example): boolean {
  if (a.task !== b.task || a.kind !== b.kind) return false;
  if (a.messages || b.messages) return JSON.stringify(a.messages) === JSON.stringify(b.messages);
  return a.prompt === b.prompt && a.answer === b.answer;
}

interface ParsedFile {
  name: string;
  format: ImportResult['format'];
  shape: ImportResult['shape'];
  columns: string[];
  examples: Example[];
  rows: number;
  refused: number;
  duplicates: number;
  problems: ProblemLog;
  embDim: number | null;
}

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

/** Reads one file into examples; every refused record is a counted problem with its line. */
async function parseFile(input: DatasetInput, opts: ImportOptions, onProgress: (p: ReadProgress) => void, embDim: NormaliseContext['embDim']): Promise<ParsedFile> {
  const name = inputName(input);
  const { head, all } = await peekFirst(textChunks(input, onProgress));
  if (!head.trim()) throw new DatasetError(`${name} is empty`);
  const format = detectFormat(name, head, opts.format);
  const problems = new ProblemLog();
  const examples: Example[] = [];
  const seen = new Map<number, number>();
  let rows = 0, refused = 0, duplicates = 0;
  let ctx: NormaliseContext | null = null;
  const pending: Array<RecordItem> = [];
  const fields = new Set<string>();
  const rawFields = new Set<string>();
  let last = Date.now();

  const take = (item: RecordItem) => {
    rows++;
    if ('problem' in item) {
      refused++;
      problems.add(item.problem, item.reason);
      return;
    }
    const n = normaliseRecord(item.value, item.line, ctx!);
    if ('problems' in n) {
      refused++;
      n.problems.forEach((p, i) => problems.add(p, i === 0 ? n.reason : undefined));
      return;
    }
    const ex = n.example;
    const h = rowHash(ex);
    const first = seen.get(h);
    if (first !== undefined && sameRow(examples[first], ex)) {
      duplicates++;
      problems.add({ line: ex.line, message: `duplicate of line ${examples[first].line} (kept)` });
    } else if (first === undefined) seen.set(h, examples.length);
    examples.push(ex);
  };

  const decide = () => {
    const shape = opts.mapping ? 'mapped' : detectShape(fields);
    ctx = { shape, mapping: opts.mapping, defaultTask: opts.defaultTask ?? 'default', embDim };
    if (opts.mapping) {
      const err = mappingError(opts.mapping, rawFields);
      if (err) throw new DatasetError(`${name}: ${err}`);
    }
  };

  for await (const item of records(all, format, name)) {
    if (!ctx) {
      pending.push(item);
      if ('value' in item) {
        for (const k of Object.keys(item.value)) rawFields.add(k);
        for (const k of Object.keys(lowerKeys(item.value as Json))) fields.add(k);
      }
      if (pending.filter((p) => 'value' in p).length >= SHAPE_SAMPLE) {
        decide();
        pending.splice(0).forEach(take);
      }
      continue;
    }
    take(item);
    if (Date.now() - last > 100) {
      last = Date.now();
      onProgress({ phase: 'parse', loaded: rows, total: null });
      await yieldToEvents();
    }
  }
  if (!ctx) {
    if (!pending.length) throw new DatasetError(`${name} holds no records${format === 'csv' || format === 'tsv' ? ' (only a header line)' : ''}`);
    if (!pending.some((p) => 'value' in p)) {
      // Not one record could be read (bad JSON on every line): its problems say why; a column mapping would not help.
      pending.splice(0).forEach(take);
      throw new DatasetError(`${name} has no usable row: ${describeRefusals({ rows, problems })}`);
    }
    decide();
    if (ctx!.shape === 'unknown') {
      // Nothing recognised: report the columns so the user can map them; no row is usable yet.
      for (const p of pending) if ('problem' in p) problems.add(p.problem, p.reason);
      const cols = [...rawFields];
      problems.add({ line: 1, message: `no known shape: the fields are ${cols.map((c) => `"${c}"`).join(', ') || 'none'}; choose which column is the prompt and which the answer (a column mapping)` }, 'unknown shape');
      return { name, format, shape: 'unknown', columns: cols, examples: [], rows: pending.length, refused: pending.length, duplicates: 0, problems, embDim: embDim.value };
    }
    pending.splice(0).forEach(take);
  }
  if (ctx!.shape === 'unknown') throw new DatasetError(`${name}: no known shape in the first ${SHAPE_SAMPLE} records; give a column mapping`);
  return { name, format, shape: ctx!.shape, columns: [...rawFields], examples, rows, refused, duplicates, problems, embDim: embDim.value };
}

function lengthSummary(lengths: number[]): ImportResult['lengths'] {
  if (!lengths.length) return undefined;
  let min = Infinity, max = 0, sum = 0;
  for (const l of lengths) {
    min = Math.min(min, l);
    max = Math.max(max, l);
    sum += l;
  }
  const bins = 16;
  const width = Math.max(1, Math.ceil(max / bins));
  const histogram = Array.from({ length: Math.ceil(max / width) }, (_, i) => ({ upTo: (i + 1) * width, count: 0 }));
  for (const l of lengths) histogram[Math.min(histogram.length - 1, Math.max(0, Math.ceil(l / width) - 1))].count++;
  return { min, max, mean: sum / lengths.length, histogram };
}

export class Dataset {
  readonly name: string;
  readonly options: Required<Pick<ImportOptions, 'maxLength' | 'overLength' | 'validationFraction' | 'seed'>>;
  /** Every kept example (train and validation file rows together). */
  readonly examples: Example[];
  readonly taskNames: string[];
  /** Task index per example. */
  readonly taskOf: Int32Array;
  private readonly parsed: ParsedFile;
  private readonly validationFile: ParsedFile | null;
  // Set by tokenize():
  private store: TokenStore | null = null;
  /** Example index → row in the token store (−1: refused for its length). */
  private storeRow: Int32Array | null = null;
  private tokCtx: TokenizeContext | null = null;
  private padId = 0;
  private keepHead = 0;
  private truncatedCount = 0;
  private refusedByLength = 0;
  private lengthProblems = new ProblemLog();
  private split: { train: number[]; validation: number[] } | null = null;
  private reader: TrainReader | null = null;
  /** Intuition scores (examples x k), set by the intuition (src/intuition/); null: none yet. */
  private scores: Float32Array | null = null;
  private scoreK = 0;

  private constructor(parsed: ParsedFile, validationFile: ParsedFile | null, options: ImportOptions) {
    this.name = parsed.name;
    this.parsed = parsed;
    this.validationFile = validationFile;
    this.options = {
      maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH,
      overLength: options.overLength ?? 'truncate',
      validationFraction: options.validationFraction ?? 0.1,
      seed: options.seed ?? 0,
    };
    this.examples = [...parsed.examples, ...(validationFile?.examples ?? [])];
    const names = new Map<string, number>();
    this.taskOf = Int32Array.from(this.examples, (ex) => {
      if (!names.has(ex.task)) names.set(ex.task, names.size);
      return names.get(ex.task)!;
    });
    this.taskNames = [...names.keys()];
  }

  /** Reads, validates and (when a tokenizer is given) tokenizes a file. Rejects only when no row is usable. */
  static async import(input: DatasetInput, options: ImportOptions = {}, tokenizer: TokenizerInfo | null = null, onProgress: (p: ReadProgress) => void = () => {}): Promise<Dataset> {
    if (options.maxLength !== undefined && !(Number.isInteger(options.maxLength) && options.maxLength >= 2)) throw new DatasetError(`maxLength must be an integer of at least 2 tokens, got ${options.maxLength}`);
    if (options.overLength !== undefined && options.overLength !== 'truncate' && options.overLength !== 'refuse') throw new DatasetError(`overLength must be "truncate" or "refuse", got ${JSON.stringify(options.overLength)}`);
    const vf = options.validationFraction;
    if (vf !== undefined && !(vf >= 0 && vf < 1)) throw new DatasetError(`validationFraction must be in [0, 1), got ${vf}`);
    const embDim = { value: null as number | null, line: 0 };
    const parsed = await parseFile(input, options, onProgress, embDim);
    if (parsed.shape !== 'unknown' && !parsed.examples.length) throw new DatasetError(`${parsed.name} has no usable row: ${describeRefusals(parsed)}`);
    let validation: ParsedFile | null = null;
    if (options.validation && parsed.shape !== 'unknown') {
      validation = await parseFile(options.validation, { ...options, validation: undefined }, onProgress, embDim);
      if (validation.shape === 'unknown') throw new DatasetError(`the validation file ${validation.name} has no known shape (fields ${validation.columns.join(', ')}); give a column mapping`);
      if (!validation.examples.length) throw new DatasetError(`the validation file ${validation.name} has no usable row: ${describeRefusals(validation)}`);
    }
    const ds = new Dataset(parsed, validation, options);
    if (tokenizer && parsed.shape !== 'unknown') await ds.tokenize(tokenizer, onProgress);
    return ds;
  }

  get shape(): ImportResult['shape'] {
    return this.parsed.shape;
  }

  get tokenized(): boolean {
    return this.store !== null;
  }

  /** (Re)tokenizes every example with a model's tokenizer; rows too long are cut or refused per the options. */
  async tokenize(t: TokenizerInfo, onProgress: (p: ReadProgress) => void = () => {}): Promise<void> {
    const max = Math.min(this.options.maxLength, t.maxPositions + 1);
    const ctx = tokenizeContext(t.tok, t.eosId);
    const store = new TokenStore();
    const storeRow = new Int32Array(this.examples.length).fill(-1);
    const log = new ProblemLog();
    let truncated = 0, refused = 0, last = Date.now();
    for (let i = 0; i < this.examples.length; i++) {
      const ex = this.examples[i];
      const full = tokenizeExample(ctx, ex);
      if (full.ids.length > max) {
        if (this.options.overLength === 'refuse') {
          refused++;
          log.add({ line: ex.line, message: `${full.ids.length} tokens, longer than the maximum of ${max} (refused; raise maxLength or choose truncation)` }, 'too long');
          continue;
        }
        const cut = truncate(full, max, ctx.prefix.length);
        if (!cut.loss.slice(1).some((x) => x)) {
          refused++;
          log.add({ line: ex.line, message: `${full.ids.length} tokens; cut to ${max}, no answer token is left (refused)` }, 'too long');
          continue;
        }
        truncated++;
        log.add({ line: ex.line, message: `${full.ids.length} tokens, cut to ${max} (${cut.answerStart < full.answerStart ? "the prompt's start" : "the answer's end"} removed)` });
        storeRow[i] = store.push(cut);
      } else storeRow[i] = store.push(full);
      if (Date.now() - last > 100) {
        last = Date.now();
        onProgress({ phase: 'tokenize', loaded: i, total: this.examples.length });
        await yieldToEvents();
      }
    }
    if (!store.rows) throw new DatasetError(`${this.name} has no usable row with this model: every row is longer than ${max} tokens (${describe(log.byReason)})`);
    this.store = store;
    this.storeRow = storeRow;
    this.tokCtx = ctx;
    this.padId = t.eosId ?? 0;
    this.keepHead = ctx.prefix.length;
    this.truncatedCount = truncated;
    this.refusedByLength = refused;
    this.lengthProblems = log;
    const nParsed = this.parsed.examples.length;
    const usable = (from: number, to: number) => {
      const out: number[] = [];
      for (let i = from; i < to; i++) if (storeRow[i] >= 0) out.push(i);
      return out;
    };
    if (this.validationFile) this.split = { train: usable(0, nParsed), validation: usable(nParsed, this.examples.length) };
    else {
      const rows = usable(0, nParsed);
      const s = stratifiedSplit(rows.map((i) => this.taskOf[i]), this.taskNames.length, this.options.validationFraction, this.options.seed);
      this.split = { train: s.train.map((j) => rows[j]), validation: s.validation.map((j) => rows[j]) };
    }
    if (!this.split.train.length) throw new DatasetError(`${this.name}: no training row is left after the validation split`);
    this.reader = null;
  }

  result(): ImportResult {
    const p = this.parsed, v = this.validationFile;
    const problems = [...p.problems.list, ...(v?.problems.list ?? []), ...this.lengthProblems.list].slice(0, MAX_PROBLEMS);
    const refusedBy: Record<string, number> = { ...p.problems.byReason };
    for (const src of [v?.problems.byReason ?? {}, this.lengthProblems.byReason]) for (const [k, n] of Object.entries(src)) refusedBy[k] = (refusedBy[k] ?? 0) + n;
    const kept: number[] = [];
    for (let i = 0; i < this.examples.length; i++) if (!this.storeRow || this.storeRow[i] >= 0) kept.push(i);
    const tasks: Record<string, number> = {};
    let mc = 0;
    for (const i of kept) {
      tasks[this.examples[i].task] = (tasks[this.examples[i].task] ?? 0) + 1;
      if (this.examples[i].mc) mc++;
    }
    return {
      name: this.name, ...(v ? { validationName: v.name } : {}), format: p.format, shape: p.shape, rows: p.rows + (v?.rows ?? 0), kept: kept.length, truncated: this.truncatedCount,
      refused: p.refused + (v?.refused ?? 0) + this.refusedByLength, duplicates: p.duplicates + (v?.duplicates ?? 0), tasks, multipleChoice: mc,
      problems, problemCount: p.problems.count + (v?.problems.count ?? 0) + this.lengthProblems.count, refusedBy,
      ...(p.shape === 'unknown' ? { columns: p.columns } : {}), tokenized: this.tokenized,
      train: this.split?.train.length ?? 0, validation: this.split?.validation.length ?? 0, embDim: p.embDim,
      lengths: this.store ? lengthSummary(this.store.lengths) : undefined,
    };
  }

  private needTokens(): { store: TokenStore; split: NonNullable<Dataset['split']>; storeRow: Int32Array } {
    if (!this.store || !this.split || !this.storeRow) throw new DatasetError('the dataset is not tokenized yet: load a model first (rows are tokenized with its tokenizer)');
    return { store: this.store, split: this.split, storeRow: this.storeRow };
  }

  /** Row indices of a split (into `examples`). */
  rows(split: 'train' | 'validation'): number[] {
    return [...this.needTokens().split[split]];
  }

  private lengthsByExample(): Int32Array {
    const { store, storeRow } = this.needTokens();
    return Int32Array.from(storeRow, (r) => (r >= 0 ? store.lengths[r] : 0));
  }

  private batchOf(rows: number[], o: { maxLength: number; padTo: number | null }): DatasetBatch {
    const { store, storeRow } = this.needTokens();
    const b = makeBatch(store, rows.map((r) => storeRow[r]), rows.map((r) => this.taskOf[r]), { ...o, padId: this.padId, keepHead: this.keepHead });
    return { ...b, rows: [...rows], s: this.scoresOf(rows) };
  }

  /** One padded batch of the given rows (their scores, task labels and mask), e.g. for statistics over chosen rows. */
  rowsBatch(rows: number[], maxLength = this.options.maxLength): DatasetBatch {
    return this.batchOf(rows, { maxLength, padTo: null });
  }

  /** Keeps each row's intuition scores (`s` holds rows.length x k values, in the order of `rows`). */
  setIntuitionScores(rows: number[], s: Float32Array, k: number): void {
    if (s.length !== rows.length * k) throw new RangeError(`intuition scores: ${s.length} values for ${rows.length} rows x ${k}`);
    const all = new Float32Array(this.examples.length * k);
    rows.forEach((r, i) => all.set(s.subarray(i * k, (i + 1) * k), r * k));
    this.scores = all;
    this.scoreK = k;
  }

  clearIntuitionScores(): void {
    this.scores = null;
    this.scoreK = 0;
  }

  /** The scores' width k (null: no intuition yet). */
  get intuitionK(): number | null {
    return this.scores ? this.scoreK : null;
  }

  /** (rows x k) scores of some rows, or null without an intuition. */
  scoresOf(rows: number[]): number[] | null {
    const s = this.scores, k = this.scoreK;
    if (!s) return null;
    const out = new Array<number>(rows.length * k);
    rows.forEach((r, i) => {
      for (let c = 0; c < k; c++) out[i * k + c] = s[r * k + c];
    });
    return out;
  }

  /** The training reader for a batch configuration (a fresh one at epoch 0, or `cursor`'s). */
  startReading(opts: BatchOptions, cursor?: DataCursor): TrainReader {
    const { split } = this.needTokens();
    const maxLength = opts.maxLength ?? this.options.maxLength;
    if (!(Number.isInteger(maxLength) && maxLength >= 2)) throw new DatasetError(`maxLength must be an integer of at least 2 tokens, got ${maxLength}`);
    if (cursor && (cursor.batchSize !== opts.batchSize || cursor.seed !== this.options.seed)) throw new DatasetError(`the saved data cursor is for batch size ${cursor.batchSize} and seed ${cursor.seed}, not ${opts.batchSize} and ${this.options.seed}`);
    this.reader = new TrainReader(split.train, this.lengthsByExample(), { seed: this.options.seed, batchSize: opts.batchSize, maxLength, padTo: opts.padTo ?? null, ...(cursor ?? {}) });
    return this.reader;
  }

  private readerFor(opts: BatchOptions): TrainReader {
    const maxLength = opts.maxLength ?? this.options.maxLength;
    const r = this.reader?.state;
    if (r && r.batchSize === opts.batchSize && r.maxLength === maxLength && r.padTo === (opts.padTo ?? null)) return this.reader!;
    if (r && (r.epoch > 0 || r.position > 0)) throw new DatasetError(`a run reads this dataset in batches of ${r.batchSize} (max length ${r.maxLength}); peek with the same settings`);
    return this.startReading(opts);
  }

  /** The next batch for the trainer, moving the cursor. */
  nextBatch(opts: BatchOptions): DatasetBatch {
    const reader = this.readerFor(opts);
    const c = reader.state;
    return this.batchOf(reader.next(), c);
  }

  get cursor(): DataCursor | null {
    return this.reader?.state ?? null;
  }

  /** The next `count` batches exactly as the trainer would receive them, without moving the cursor. */
  peekBatches(req: PeekRequest): DatasetBatch[] {
    const { split } = this.needTokens();
    if (!(Number.isInteger(req.count) && req.count >= 0)) throw new DatasetError(`count must be a non-negative integer, got ${req.count}`);
    if (!(Number.isInteger(req.batchSize) && req.batchSize >= 1)) throw new DatasetError(`batchSize must be a positive integer, got ${req.batchSize}`);
    const opts = { batchSize: req.batchSize, maxLength: req.maxLength, padTo: req.padTo };
    if (req.split === 'validation') {
      const list = validationBatches(split.validation, this.lengthsByExample(), req.batchSize);
      return list.slice(0, req.count).map((rows) => this.batchOf(rows, { maxLength: req.maxLength ?? this.options.maxLength, padTo: req.padTo ?? null }));
    }
    if (req.split !== 'train') throw new DatasetError(`split must be "train" or "validation", got ${JSON.stringify(req.split)}`);
    const reader = this.readerFor(opts);
    const c = reader.state;
    return reader.peek(req.count).map((rows) => this.batchOf(rows, c));
  }

  /**
   * A page of the kept rows as text, for a preview: each row's file and line, task, prompt and
   * answer (cut at PREVIEW_CLIP characters) and, once tokenized, its split; `split` keeps one
   * split's rows only (which needs the rows tokenized).
   */
  preview(req: PreviewRequest): PreviewResult {
    const offset = Math.max(0, Math.floor(req.offset) || 0), count = Math.min(500, Math.max(0, Math.floor(req.count) || 0));
    const split = req.split ?? 'all';
    if (split !== 'all' && !this.split) throw new DatasetError('the rows are split into training and validation when they are tokenized: load a model first');
    const splitOf = new Array<'train' | 'validation' | null>(this.examples.length).fill(null);
    if (this.split) {
      for (const r of this.split.train) splitOf[r] = 'train';
      for (const r of this.split.validation) splitOf[r] = 'validation';
    }
    const keep = split === 'all' ? null : this.split![split];
    const total = keep ? keep.length : this.examples.length;
    const nParsed = this.parsed.examples.length;
    const clip = (t: string) => (t.length > PREVIEW_CLIP ? t.slice(0, PREVIEW_CLIP) : t);
    const rows: PreviewRow[] = [];
    for (let j = offset; j < Math.min(total, offset + count); j++) {
      const i = keep ? keep[j] : j;
      const ex = this.examples[i];
      rows.push({
        index: i, file: this.validationFile && i >= nParsed ? this.validationFile.name : this.name, line: ex.line, task: ex.task, kind: ex.kind,
        instruction: clip(ex.prompt), output: clip(ex.answer), clipped: ex.prompt.length > PREVIEW_CLIP || ex.answer.length > PREVIEW_CLIP,
        split: splitOf[i], answerLetter: ex.mc?.answer ?? null,
      });
    }
    return { total, offset, rows };
  }

  /** Prompt token ids of an example (evaluation, the intuition's embeddings). */
  promptIds(i: number): number[] {
    if (!this.tokCtx) this.needTokens();
    const { store, storeRow } = this.needTokens();
    const r = storeRow[i];
    if (r < 0) throw new DatasetError(`row at line ${this.examples[i].line} was refused`);
    const t = store.row(r);
    return t.ids.slice(0, t.answerStart);
  }
}

function describe(byReason: Record<string, number>): string {
  return Object.entries(byReason).map(([k, n]) => `${n} ${k}`).join(', ') || 'no rows';
}

function describeRefusals(f: Pick<ParsedFile, 'rows' | 'problems'>): string {
  if (!f.rows) return 'the file holds no records';
  const first = f.problems.list[0];
  return `all ${f.rows} records were refused (${describe(f.problems.byReason)})${first ? `; the first at line ${first.line}: ${first.message}` : ''}`;
}
