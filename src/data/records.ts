// From a file to records: text in decoded chunks (a string, a Blob streamed, or a URL fetched with
// progress; UTF-8 with or without BOM), the format detected, and records yielded with the line
// each starts on: JSONL line by line as chunks arrive, JSON arrays with each element's line,
// CSV/TSV through papaparse (record numbers turned into line numbers, quoted newlines counted).
import Papa from 'papaparse';
import type { DatasetInput, FileFormat, Problem } from './types.ts';

export type Json = Record<string, unknown>;

export type RecordItem = { line: number; value: Json } | { line: number; problem: Problem; reason: string };

export interface ReadProgress {
  phase: 'read' | 'parse' | 'tokenize';
  loaded: number;
  total: number | null;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export function inputName(input: DatasetInput): string {
  if ('url' in input) return input.name ?? decodeURIComponent(input.url.split(/[?#]/)[0].split('/').pop() || input.url);
  return input.name;
}

/** Decoded text chunks of an input, the BOM removed, CRLF left for the parsers. */
export async function* textChunks(input: DatasetInput, onProgress?: (p: ReadProgress) => void): AsyncGenerator<string> {
  if ('text' in input) {
    if (typeof input.text !== 'string') throw new DatasetError(`${input.name}: the text to import is not a string`);
    onProgress?.({ phase: 'read', loaded: input.text.length, total: input.text.length });
    yield input.text.charCodeAt(0) === 0xfeff ? input.text.slice(1) : input.text;
    return;
  }
  let stream: ReadableStream<Uint8Array>;
  let total: number | null;
  if ('blob' in input) {
    stream = input.blob.stream();
    total = input.blob.size;
  } else {
    let res: Response;
    try {
      res = await fetch(input.url);
    } catch (e) {
      throw new DatasetError(`Downloading ${input.url} failed: ${e instanceof Error ? e.message : String(e)} (offline, or the server refuses cross-origin requests)`);
    }
    if (!res.ok || !res.body) throw new DatasetError(`Downloading ${input.url} failed: HTTP ${res.status} ${res.statusText}`.trim());
    stream = res.body;
    const len = Number(res.headers.get('content-length'));
    total = Number.isFinite(len) && len > 0 ? len : null;
  }
  // TextDecoder drops a leading BOM (ignoreBOM false) and keeps multi-byte characters split
  // across chunks whole; fatal: invalid UTF-8 is an error that names the file, not mojibake.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reader = stream.getReader();
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      loaded += value.byteLength;
      onProgress?.({ phase: 'read', loaded, total });
      let text: string;
      try {
        text = decoder.decode(value, { stream: true });
      } catch {
        throw new DatasetError(`${inputName(input)} is not UTF-8 text (invalid bytes near byte ${loaded - value.byteLength}); save it as UTF-8 and try again`);
      }
      if (text) yield text;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } finally {
    reader.releaseLock();
  }
}

/** The format from an explicit choice, the file name, or the first characters. */
export function detectFormat(name: string, head: string, forced?: FileFormat): FileFormat {
  if (forced) return forced;
  const ext = name.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'json') return head.trimStart().startsWith('[') ? 'json' : 'jsonl';
  if (ext === 'tsv' || ext === 'tab') return 'tsv';
  if (ext === 'csv') return 'csv';
  const t = head.trimStart();
  if (t.startsWith('[')) return 'json';
  if (t.startsWith('{')) return 'jsonl';
  const first = t.split(/\r?\n/, 1)[0] ?? '';
  return first.includes('\t') ? 'tsv' : 'csv';
}

/** Where V8's JSON.parse message says the error is (0-based offset), when it says. */
function jsonErrorPosition(message: string, text: string): number | null {
  const pos = message.match(/position (\d+)/);
  if (pos) return Number(pos[1]);
  if (/end of JSON input/.test(message)) return text.length;
  return null;
}

function jsonErrorColumn(message: string, text: string): number | null {
  const col = message.match(/column (\d+)/);
  if (col) return Number(col[1]);
  const p = jsonErrorPosition(message, text);
  return p === null ? null : p - text.lastIndexOf('\n', p - 1);
}

function jsonProblem(line: number, text: string, e: unknown): RecordItem {
  const msg = e instanceof Error ? e.message : String(e);
  const col = jsonErrorColumn(msg, text);
  return { line, problem: { line, message: `bad JSON${col !== null ? ` at column ${col}` : ''}: ${msg}` }, reason: 'bad JSON' };
}

function jsonObject(line: number, text: string): RecordItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return jsonProblem(line, text, e);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { line, problem: { line, message: `expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` }, reason: 'not an object' };
  return { line, value: value as Json };
}

/** JSONL: one object per line; blank lines skipped; CRLF accepted. */
async function* jsonlRecords(chunks: AsyncIterable<string>): AsyncGenerator<RecordItem> {
  let carry = '';
  let line = 0;
  for await (const chunk of chunks) {
    const text = carry + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      line++;
      const l = text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
      start = nl + 1;
      if (l.trim()) yield jsonObject(line, l);
    }
    carry = text.slice(start);
  }
  line++;
  const last = carry.endsWith('\r') ? carry.slice(0, -1) : carry;
  if (last.trim()) yield jsonObject(line, last);
}

async function collect(chunks: AsyncIterable<string>): Promise<string> {
  const parts: string[] = [];
  for await (const c of chunks) parts.push(c);
  return parts.join('');
}

/** The line on which each top-level element of a JSON array starts (strings and nesting skipped). */
function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1, depth = 0, inString = false, expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character (never a newline in valid JSON)
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    if (depth === 1 && expectElement && c !== 93) {
      lines.push(line);
      expectElement = false;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === 93 || c === 125) depth--;
    else if (c === 44 && depth === 1) expectElement = true;
  }
  return lines;
}

async function* jsonArrayRecords(chunks: AsyncIterable<string>, name: string): AsyncGenerator<RecordItem> {
  const text = await collect(chunks);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const lc = msg.match(/line (\d+) column (\d+)/);
    const p = jsonErrorPosition(msg, text);
    let where = '';
    if (lc) where = ` at line ${lc[1]}, column ${lc[2]}`;
    else if (p !== null) {
      const line = text.slice(0, p).split('\n').length;
      where = ` at line ${line}, column ${p - text.lastIndexOf('\n', p - 1)}`;
    }
    throw new DatasetError(`${name} is not valid JSON${where}: ${msg}. A JSON file must hold one array of objects; for one object per line, use JSONL.`);
  }
  if (!Array.isArray(value)) {
    // { "data": [...] } and similar: the one array-valued field holding objects.
    const arrays = value && typeof value === 'object' ? Object.entries(value as Json).filter(([, v]) => Array.isArray(v) && v.length && typeof v[0] === 'object') : [];
    if (arrays.length !== 1) throw new DatasetError(`${name}: expected a JSON array of objects (or an object with one such array), found ${value === null ? 'null' : typeof value}`);
    value = arrays[0][1];
  }
  const lines = arrayElementLines(text);
  const items = value as unknown[];
  for (let i = 0; i < items.length; i++) {
    const line = lines[i] ?? 1;
    const v = items[i];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) yield { line, problem: { line, message: `element ${i} is not a JSON object` }, reason: 'not an object' };
    else yield { line, value: v as Json };
  }
}

async function* delimitedRecords(chunks: AsyncIterable<string>, delimiter: ',' | '\t', name: string): AsyncGenerator<RecordItem> {
  const text = await collect(chunks);
  const out: RecordItem[] = [];
  let prevEnd = 0;
  let lineAtPrev = 1;
  let headerLine = 0;
  let fields: string[] | null = null;
  Papa.parse<string[]>(text, {
    delimiter,
    header: false,
    skipEmptyLines: 'greedy',
    step: (r) => {
      // The record starts after the previous one's end, past any skipped empty lines.
      let start = prevEnd;
      let line = lineAtPrev;
      while (start < text.length && (text[start] === '\n' || text[start] === '\r')) {
        if (text[start] === '\n') line++;
        start++;
      }
      const end = r.meta.cursor;
      for (let i = prevEnd; i < end; i++) if (text.charCodeAt(i) === 10) lineAtPrev++;
      prevEnd = end;
      const row = r.data;
      if (!fields) {
        fields = row.map((f) => f.trim());
        headerLine = line;
        return;
      }
      const quote = r.errors.find((e) => e.type === 'Quotes');
      if (quote) {
        out.push({ line, problem: { line, message: `unbalanced quotes: ${quote.message}` }, reason: 'bad CSV' });
        return;
      }
      if (row.length !== fields.length) {
        out.push({ line, problem: { line, message: `the record has ${row.length} fields, the header (line ${headerLine}) has ${fields.length}` }, reason: 'bad CSV' });
        return;
      }
      const value: Json = {};
      fields.forEach((f, i) => (value[f] = row[i]));
      out.push({ line, value });
    },
  });
  if (!fields) throw new DatasetError(`${name} is empty: a ${delimiter === ',' ? 'CSV' : 'TSV'} file needs a header line and at least one record`);
  yield* out;
}

/** Records of a text stream in the given format. */
export async function* records(chunks: AsyncIterable<string>, format: FileFormat, name: string): AsyncGenerator<RecordItem> {
  switch (format) {
    case 'jsonl':
      yield* jsonlRecords(chunks);
      return;
    case 'json':
      yield* jsonArrayRecords(chunks, name);
      return;
    case 'csv':
      yield* delimitedRecords(chunks, ',', name);
      return;
    case 'tsv':
      yield* delimitedRecords(chunks, '\t', name);
      return;
  }
}

/** The first chunk (for format detection) and an iterable that replays it, then the rest. */
export async function peekFirst(chunks: AsyncGenerator<string>): Promise<{ head: string; all: AsyncIterable<string> }> {
  const first = await chunks.next();
  const head = first.done ? '' : first.value;
  return {
    head,
    all: (async function* () {
      if (head) yield head;
      yield* { [Symbol.asyncIterator]: () => chunks };
    })(),
  };
}
