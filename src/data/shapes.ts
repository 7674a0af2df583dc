// Record shapes: recognise a file's shape from its field names, and turn each record into one
// Example (prompt, answer, chat messages or plain text; task; multiple-choice letters; supplied
// embedding), or into problems that name the line, the field and what is wrong.
import type { ChatMessage } from '../model/tokenizer.ts';
import type { Json } from './records.ts';
import type { ColumnMapping, DatasetShape, Example, MultipleChoice, Problem } from './types.ts';

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The shape of a file from the fields of its first records (lower-cased), most specific first. */
export function detectShape(fields: Set<string>): DatasetShape {
  const has = (...f: string[]) => f.every((x) => fields.has(x));
  if (has('messages')) return 'messages';
  if (has('conversations')) return 'sharegpt';
  if (has('question', 'choices', 'answer')) return 'multiple-choice';
  if (has('instruction', 'output')) return has('task') || !has('input') ? 'paper' : 'alpaca';
  if (has('prompt', 'completion')) return 'prompt-completion';
  if (has('text')) return 'text';
  return 'unknown';
}

/** The paper's multiple-choice prompt: "<question>\nChoices:\nA. …\nB. …\nAnswer:\n". */
export function multipleChoicePrompt(question: string, choices: string[]): string {
  return `${question}\nChoices:\n${choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n')}\nAnswer:\n`;
}

const CHOICES_BLOCK = /\nChoices:\n((?:[A-Z][.)] [^\n]*\n?)+)\s*Answer:\s*$/;

/** The choice letters of a prompt already in the paper's form, or null. */
export function promptLetters(prompt: string): string[] | null {
  if (!prompt.includes('\nChoices:\n')) return null; // most prompts: no regex scan at all
  const m = prompt.match(CHOICES_BLOCK);
  if (!m) return null;
  const letters = [...m[1].matchAll(/^([A-Z])[.)] /gm)].map((x) => x[1]);
  return letters.length >= 2 ? letters : null;
}

/** The letter an answer names: "B", "b", "B.", "(B)", "B) text". */
export function answerLetter(answer: string, letters: string[]): string | null {
  const m = answer.trim().match(/^\(?([A-Za-z])(?:[.):]|\s|$)/);
  const l = m?.[1].toUpperCase();
  return l && letters.includes(l) ? l : null;
}

type Fail = { problems: Problem[]; reason: string };
export type Normalised = { example: Example } | Fail;

const ROLE: Record<string, ChatMessage['role']> = {
  system: 'system', user: 'user', human: 'user', assistant: 'assistant', gpt: 'assistant', bot: 'assistant', model: 'assistant', chatgpt: 'assistant',
};

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

class RowReader {
  readonly problems: Problem[] = [];
  reason = '';
  constructor(readonly rec: Json, readonly line: number) {}

  fail(field: string | undefined, message: string, reason: string): null {
    this.problems.push({ line: this.line, ...(field !== undefined ? { field } : {}), message });
    this.reason ||= reason;
    return null;
  }

  /** A required text field; `label` allows numbers and booleans (answers, labels). */
  text(field: string, opts: { label?: boolean; optional?: boolean } = {}): string | null {
    const v = this.rec[field];
    if (v === undefined || v === null) return opts.optional ? null : this.fail(field, `missing field "${field}"`, 'missing field');
    let s: string;
    if (typeof v === 'string') s = v;
    else if (opts.label && (typeof v === 'number' || typeof v === 'boolean')) s = String(v);
    else return this.fail(field, `"${field}" must be ${opts.label ? 'text or a number' : 'text'}, found ${typeName(v)}`, 'wrong type');
    if (!s.trim()) return opts.optional ? null : this.fail(field, `"${field}" is empty`, 'empty field');
    return s;
  }

  /** An array field (JSON arrays; a CSV cell holding a JSON array). */
  array(field: string): unknown[] | null {
    let v = this.rec[field];
    if (v === undefined || v === null) return this.fail(field, `missing field "${field}"`, 'missing field');
    if (typeof v === 'string' && v.trim().startsWith('[')) {
      try {
        v = JSON.parse(v);
      } catch {
        return this.fail(field, `"${field}" holds text that is not a JSON array`, 'wrong type');
      }
    }
    if (!Array.isArray(v)) return this.fail(field, `"${field}" must be an array, found ${typeName(v)}`, 'wrong type');
    if (!v.length) return this.fail(field, `"${field}" is empty`, 'empty field');
    return v;
  }
}

/** Lower-cased keys, so "Instruction" and "instruction" are one field. */
export function lowerKeys(rec: Json): Json {
  let plain = true;
  for (const k in rec) if (k !== k.toLowerCase() || k.trim() !== k) plain = false;
  if (plain) return rec;
  const out: Json = {};
  for (const [k, v] of Object.entries(rec)) out[k.trim().toLowerCase()] = v;
  return out;
}

export interface NormaliseContext {
  shape: DatasetShape;
  mapping?: ColumnMapping;
  defaultTask: string;
  /** The embedding dimension fixed by the first row that supplied one (updated here). */
  embDim: { value: number | null; line: number };
}

function readEmb(r: RowReader, field: string, ctx: NormaliseContext): Float32Array | null | undefined {
  if (r.rec[field] === undefined || r.rec[field] === null || r.rec[field] === '') return null;
  const arr = r.array(field);
  if (!arr) return undefined;
  const bad = arr.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) return r.fail(field, `"${field}"[${bad}] is not a finite number`, 'bad emb') ?? undefined;
  const dim = ctx.embDim;
  if (dim.value === null) {
    dim.value = arr.length;
    dim.line = r.line;
  } else if (arr.length !== dim.value) {
    return r.fail(field, `"${field}" has ${arr.length} values; the first embedding (line ${dim.line}) has ${dim.value}`, 'bad emb') ?? undefined;
  }
  return Float32Array.from(arr as number[]);
}

function messagesOf(r: RowReader, field: string, sharegpt: boolean): ChatMessage[] | null {
  const arr = r.array(field);
  if (!arr) return null;
  const out: ChatMessage[] = [];
  const [roleKey, textKey] = sharegpt ? ['from', 'value'] : ['role', 'content'];
  for (let i = 0; i < arr.length; i++) {
    const m = arr[i] as Json;
    const where = `${field}[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return r.fail(where, `${where} must be an object with "${roleKey}" and "${textKey}", found ${typeName(m)}`, 'wrong type');
    const role = ROLE[String(m[roleKey] ?? m.role ?? m.from ?? '').toLowerCase()];
    if (!role) return r.fail(`${where}.${roleKey}`, `${where}.${roleKey} is ${JSON.stringify(m[roleKey] ?? null)}; expected one of ${Object.keys(ROLE).join(', ')}`, 'bad message');
    const content = m[textKey] ?? m.content ?? m.value;
    if (typeof content !== 'string') return r.fail(`${where}.${textKey}`, `${where}.${textKey} must be text, found ${typeName(content)}`, 'wrong type');
    out.push({ role, content });
  }
  if (!out.some((m) => m.role === 'assistant')) return r.fail(field, `"${field}" has no assistant turn: nothing to learn from`, 'no answer');
  return out;
}

/** Multiple choice from question + choices + answer (a letter, a 0-based index, or a choice's text). */
function choiceRow(r: RowReader, qField: string, cField: string, aField: string): { prompt: string; answer: string; mc: MultipleChoice } | null {
  const question = r.text(qField);
  const choicesRaw = r.array(cField);
  const ans = r.text(aField, { label: true });
  if (question === null || !choicesRaw || ans === null) return null;
  if (choicesRaw.length > LETTERS.length) return r.fail(cField, `"${cField}" has ${choicesRaw.length} choices; at most ${LETTERS.length} are supported`, 'bad choices');
  const bad = choicesRaw.findIndex((c) => typeof c !== 'string' && typeof c !== 'number');
  if (bad >= 0) return r.fail(`${cField}[${bad}]`, `"${cField}"[${bad}] must be text, found ${typeName(choicesRaw[bad])}`, 'wrong type');
  const choices = choicesRaw.map(String);
  const letters = [...LETTERS.slice(0, choices.length)];
  const a = ans.trim();
  let letter: string | null;
  if (/^[A-Za-z]$/.test(a) && letters.includes(a.toUpperCase())) letter = a.toUpperCase();
  else if (/^\d+$/.test(a) && Number(a) < choices.length && !choices.some((c) => c.trim() === a)) letter = letters[Number(a)];
  else {
    const i = choices.findIndex((c) => c.trim().toLowerCase() === a.toLowerCase());
    if (i >= 0) letter = letters[i];
    else letter = answerLetter(a, letters);
  }
  if (!letter) return r.fail(aField, `answer ${JSON.stringify(a)} names no choice (expected ${letters[0]}–${letters[letters.length - 1]}, an index 0–${choices.length - 1}, or a choice's text)`, 'answer names no choice');
  return { prompt: multipleChoicePrompt(question, choices), answer: letter, mc: { letters, answer: letter } };
}

/** A prompt + answer row; multiple choice when the prompt is in the paper's form. */
function promptRow(r: RowReader, prompt: string, answer: string): { prompt: string; answer: string; mc: MultipleChoice | null } | null {
  const letters = promptLetters(prompt);
  if (!letters) return { prompt, answer, mc: null };
  const letter = answerLetter(answer, letters);
  if (!letter) return r.fail('answer', `the prompt lists choices ${letters.join(', ')} but the answer ${JSON.stringify(answer.trim().slice(0, 40))} names none of them`, 'answer names no choice');
  return { prompt, answer, mc: { letters, answer: letter } };
}

/** One record → one Example, or the problems that refuse it. */
export function normaliseRecord(raw: Json, line: number, ctx: NormaliseContext): Normalised {
  const m = ctx.mapping;
  const rec = m ? raw : lowerKeys(raw);
  const r = new RowReader(rec, line);
  const taskField = m ? m.task : 'task';
  let task = ctx.defaultTask;
  if (taskField && rec[taskField] !== undefined && rec[taskField] !== null && rec[taskField] !== '') task = r.text(taskField, { label: true })?.trim() ?? task;
  const emb = readEmb(r, m?.emb ?? 'emb', ctx);
  const base = { line, task, emb: emb ?? null, messages: null as ChatMessage[] | null };
  let ex: Example | null = null;
  const instruction = (promptField: string, inputField: string | undefined, answerField: string) => {
    const p = r.text(promptField);
    const input = inputField ? r.text(inputField, { optional: true }) : null;
    const a = r.text(answerField, { label: true });
    if (p === null || a === null) return null;
    const row = promptRow(r, input ? `${p}\n\n${input}` : p, a);
    return row && { ...base, kind: 'instruction' as const, ...row };
  };
  switch (ctx.shape) {
    case 'paper':
    case 'alpaca':
      ex = instruction('instruction', 'input', 'output');
      break;
    case 'prompt-completion':
      ex = instruction('prompt', undefined, 'completion');
      break;
    case 'multiple-choice': {
      const row = choiceRow(r, 'question', 'choices', 'answer');
      ex = row && { ...base, kind: 'instruction', ...row };
      break;
    }
    case 'messages':
    case 'sharegpt': {
      const msgs = messagesOf(r, ctx.shape === 'messages' ? 'messages' : 'conversations', ctx.shape === 'sharegpt');
      if (msgs) {
        const last = msgs.map((x) => x.role).lastIndexOf('assistant');
        const before = msgs.slice(0, last).filter((x) => x.role === 'user').pop()?.content ?? '';
        const letters = promptLetters(before);
        const letter = letters ? answerLetter(msgs[last].content, letters) : null;
        ex = { ...base, kind: 'chat', messages: msgs, prompt: before, answer: msgs[last].content, mc: letters && letter ? { letters, answer: letter } : null };
      }
      break;
    }
    case 'text': {
      const t = r.text('text');
      ex = t === null ? null : { ...base, kind: 'text', prompt: '', answer: t, mc: null };
      break;
    }
    case 'mapped': {
      if (!m) throw new Error('normaliseRecord: shape "mapped" needs a mapping');
      if (m.choices) {
        const row = choiceRow(r, m.prompt, m.choices, m.answer);
        ex = row && { ...base, kind: 'instruction', ...row };
      } else ex = instruction(m.prompt, m.input, m.answer);
      break;
    }
    case 'unknown':
      throw new Error('normaliseRecord: the shape is unknown; ask for a column mapping');
  }
  if (r.problems.length || !ex || emb === undefined) return { problems: r.problems, reason: r.reason || 'invalid row' };
  return { example: ex };
}

/** Column names, most likely first, for each part of a row (matched case-insensitively, ignoring _ - and spaces). */
const GUESS: Array<[keyof ColumnMapping, string[]]> = [
  ['answer', ['answer', 'output', 'response', 'completion', 'target', 'label', 'solution', 'reply', 'expected', 'answers']],
  ['prompt', ['prompt', 'question', 'instruction', 'query', 'problem', 'input', 'text', 'sentence', 'context', 'premise']],
  ['input', ['input', 'context']],
  ['task', ['task', 'category', 'subject', 'domain', 'type', 'dataset', 'topic', 'group']],
];

/**
 * A column mapping guessed from a file's column names (its original spelling), for a file of no
 * known shape: each part takes the first listed name present, and no column serves two parts.
 * Only what was found is returned; the user confirms or changes it. Choices are never guessed (a
 * column named "options" rarely holds the JSON arrays multiple choice needs).
 */
export function guessMapping(columns: string[]): Partial<ColumnMapping> {
  const norm = (c: string) => c.toLowerCase().replace(/[\s_-]+/g, '');
  const used = new Set<string>();
  const out: Partial<ColumnMapping> = {};
  for (const [key, names] of GUESS) {
    for (const name of names) {
      const col = columns.find((c) => norm(c) === name && !used.has(c));
      if (col !== undefined) {
        out[key] = col;
        used.add(col);
        break;
      }
    }
  }
  return out;
}

/** Checks a mapping against the fields found; a message naming what is wrong, or null. */
export function mappingError(m: ColumnMapping, fields: Set<string>): string | null {
  if (!m || typeof m !== 'object') return 'the column mapping must be an object such as { prompt: "question", answer: "label" }';
  for (const key of ['prompt', 'answer'] as const) if (typeof m[key] !== 'string' || !m[key]) return `the column mapping needs "${key}": the column that holds the ${key}`;
  for (const [key, col] of Object.entries(m)) {
    if (col === undefined) continue;
    if (typeof col !== 'string') return `column mapping "${key}" must name a column, found ${typeName(col)}`;
    if (!fields.has(col)) return `column mapping ${key} → "${col}": the file has no column "${col}" (it has ${[...fields].map((f) => `"${f}"`).join(', ')})`;
  }
  return null;
}
