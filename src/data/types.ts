// Types of the dataset pipeline (src/data/): what an import takes and reports, the normalised
// example every shape becomes, and the batches and cursor the trainer consumes.
import type { ChatMessage } from '../model/tokenizer.ts';

/** The record shapes an import recognises by field names (or 'mapped' through a column mapping). */
export type DatasetShape =
  | 'paper' // { instruction, output, task } (optionally input)
  | 'alpaca' // { instruction, input, output }
  | 'prompt-completion' // { prompt, completion }
  | 'messages' // { messages: [{ role, content }] }
  | 'sharegpt' // { conversations: [{ from, value }] }
  | 'multiple-choice' // { question, choices: [...], answer }
  | 'text' // { text }: loss on every token
  | 'mapped' // a user's column mapping
  | 'unknown'; // nothing matched: see `columns`

export type FileFormat = 'jsonl' | 'json' | 'csv' | 'tsv';

/** Which field of the file plays which part (for files whose shape is not recognised). */
export interface ColumnMapping {
  prompt: string;
  answer: string;
  task?: string;
  /** A second prompt part appended after the prompt (Alpaca's `input`). */
  input?: string;
  /** An array of choices: the row becomes multiple choice and `answer` must name one. */
  choices?: string;
  emb?: string;
}

export interface ImportOptions {
  /** Overrides detection by file name and content. */
  format?: FileFormat;
  mapping?: ColumnMapping;
  /** Most tokens in one row (prompt + answer + EOS); default 512, capped by the model's context. */
  maxLength?: number;
  /** What happens to a longer row: cut (the prompt's start first, so the answer stays) or refuse. Default 'truncate'. */
  overLength?: 'truncate' | 'refuse';
  /** Share of each task held out for validation when no validation file is given (default 0.1). */
  validationFraction?: number;
  /** A separate validation file, imported with the same options (its rows are all validation). */
  validation?: DatasetInput;
  /** Seed of the split and of the per-epoch shuffles (default 0). */
  seed?: number;
  /** Task label of rows that carry none (default 'default'). */
  defaultTask?: string;
}

export type DatasetInput = { name: string; text: string } | { url: string; name?: string } | { name: string; blob: Blob };

export interface Problem {
  /** 1-based line of the file (a CSV record's first line; for a JSON array, the element's first line). */
  line: number;
  field?: string;
  message: string;
}

export interface ImportResult {
  name: string;
  /** The validation file's name when one was given (its rows are counted in rows, kept, tasks …). */
  validationName?: string;
  format: FileFormat;
  shape: DatasetShape;
  /** Records read from the file (kept + refused). */
  rows: number;
  kept: number;
  truncated: number;
  refused: number;
  /** Rows equal to an earlier one (same prompt, answer and task): counted and kept. */
  duplicates: number;
  tasks: Record<string, number>;
  /** Rows that are multiple choice. */
  multipleChoice: number;
  /** The first 1,000 problems. */
  problems: Problem[];
  problemCount: number;
  /** Refusals by reason, e.g. { "bad JSON": 3, "missing field": 1 }. */
  refusedBy: Record<string, number>;
  /** Fields found in the file: offered for a column mapping when the shape is 'unknown'. */
  columns?: string[];
  /** Whether rows are tokenized (a model is loaded); counts of truncated/refused-by-length wait for it. */
  tokenized: boolean;
  train: number;
  validation: number;
  /** Dimension of the supplied `emb` vectors (null: none supplied). */
  embDim: number | null;
  /** Token counts (prompt + answer + EOS) of the kept rows, for a length histogram. */
  lengths?: { min: number; max: number; mean: number; histogram: Array<{ upTo: number; count: number }> };
}

export interface MultipleChoice {
  /** Choice letters in order ("A", "B", ...). */
  letters: string[];
  /** The gold letter. */
  answer: string;
}

/** One row, whatever shape it came in. */
export interface Example {
  line: number;
  task: string;
  /** Instruction-like rows: prompt text and answer text. Chat rows: messages. Text rows: text. */
  kind: 'instruction' | 'chat' | 'text';
  prompt: string;
  answer: string;
  messages: ChatMessage[] | null;
  mc: MultipleChoice | null;
  emb: Float32Array | null;
}

/** A batch exactly as the trainer receives it (TrainBatch plus the padding mask and row ids). */
export interface DatasetBatch {
  B: number;
  T: number;
  /** (B·T) input ids, padding filled with the pad id. */
  ids: number[];
  /** (B·T) next-token targets, −100 on prompt tokens and padding. */
  targets: number[];
  /** (B·T) 1 for real tokens, 0 for padding. */
  mask: number[];
  /** (B) task index per sequence (into DatasetInfo.taskNames). */
  task: number[];
  /** (B) row index per sequence (into the dataset's examples). */
  rows: number[];
  /** (B x k) intuition scores per sequence (METHOD.md §2), once the intuition is computed; else null. */
  s: number[] | null;
}

export interface BatchOptions {
  batchSize: number;
  /** Most tokens per sequence (rows cut as at import); default: the import's maxLength. */
  maxLength?: number;
  /** Pad every batch to this length instead of the longest sequence in it. */
  padTo?: number;
}

/** Where the train split's reader stands: restore it and the same batches follow. */
export interface DataCursor {
  seed: number;
  epoch: number;
  /** Batches already delivered in this epoch. */
  position: number;
  /** The state of the epoch's shuffle generator when the epoch began. */
  rngState: number;
  batchSize: number;
  maxLength: number;
  padTo: number | null;
}

export interface PeekRequest {
  split: 'train' | 'validation';
  count: number;
  batchSize: number;
  /** Most tokens per sequence: longer rows are cut as at import (the prompt's start first). Default: the import's. */
  maxLength?: number;
  /** Pad every batch to this length instead of its longest sequence. */
  padTo?: number;
}

/** A page of the imported dataset's rows, for the Data step's preview (text as read, clipped). */
export interface PreviewRequest {
  /** First row of the page, 0-based, among the rows the filter keeps. */
  offset: number;
  /** Rows in the page (at most 500). */
  count: number;
  /** Only the training or validation split (needs a model: the split is made when rows are tokenized); default 'all'. */
  split?: 'all' | 'train' | 'validation';
}

export interface PreviewRow {
  /** Index into the dataset's kept rows. */
  index: number;
  /** The file the row came from and its 1-based line there. */
  file: string;
  line: number;
  task: string;
  kind: 'instruction' | 'chat' | 'text';
  /** The prompt as the row gives it (chat rows: the last user turn before the answer); at most 2,000 characters (PREVIEW_CLIP). */
  instruction: string;
  /** The answer the loss falls on (text rows: the whole text); at most 2,000 characters. */
  output: string;
  /** A field was longer than 2,000 characters and is cut. */
  clipped: boolean;
  /** Its split once tokenized; null before (no model) or when it was refused for its length. */
  split: 'train' | 'validation' | null;
  /** Multiple choice: the gold letter. */
  answerLetter: string | null;
}

export interface PreviewResult {
  /** Rows the filter keeps (the page is a window into them). */
  total: number;
  offset: number;
  rows: PreviewRow[];
}
