// The dataset pipeline in Node: every shape, every problem with its line, CRLF/BOM, column
// mappings, multiple choice in both forms, templating and the loss mask, truncation, the
// stratified split, epoch coverage, the cursor round trip, and a seeded mutation fuzzer.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer } from '../src/model/tokenizer.ts';
import { Dataset, type TokenizerInfo } from '../src/data/dataset.ts';
import { DatasetError } from '../src/data/records.ts';
import { epochBatches, epochRngState, IGNORE, stratifiedSplit } from '../src/data/batches.ts';
import { Random } from '../src/util/random.ts';
import { guessMapping } from '../src/data/shapes.ts';
import type { DatasetBatch, ImportOptions } from '../src/data/types.ts';
import { MODELS_DIR } from './modelFixtures.ts';

function tokenizer(name: string): TokenizerInfo {
  const json = (f: string) => JSON.parse(readFileSync(join(MODELS_DIR, name, f), 'utf8'));
  const tok = new TextTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  return { tok, eosId: tok.eosId, maxPositions: 128 };
}
const LLAMA = tokenizer('tiny-llama');
const QWEN = tokenizer('tiny-qwen2');
const GPT2 = tokenizer('tiny-gpt2');

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
const load = (name: string, text: string, opts: ImportOptions = {}, tok: TokenizerInfo | null = LLAMA) => Dataset.import({ name, text }, opts, tok);

describe('shapes', () => {
  const cases: Array<[string, unknown[], string]> = [
    ['paper', [{ instruction: 'say hi', output: 'hi', task: 'greet' }, { instruction: 'add 1 1', input: '', output: '2', task: 'math' }], 'paper'],
    ['alpaca', [{ instruction: 'add', input: '1 1', output: '2' }], 'alpaca'],
    ['prompt-completion', [{ prompt: 'a', completion: 'b' }], 'prompt-completion'],
    ['messages', [{ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }], 'messages'],
    ['sharegpt', [{ conversations: [{ from: 'human', value: 'hi' }, { from: 'gpt', value: 'hello' }] }], 'sharegpt'],
    ['text', [{ text: 'once upon a time' }], 'text'],
    ['multiple-choice', [{ question: 'sky?', choices: ['blue', 'green'], answer: 'A' }], 'multiple-choice'],
  ];
  for (const [name, rows, shape] of cases)
    it(`recognises ${name}`, async () => {
      const ds = await load(`${name}.jsonl`, jsonl(rows));
      const r = ds.result();
      expect(r.shape).toBe(shape);
      expect(r.kept).toBe(rows.length);
      expect(r.refused).toBe(0);
      expect(r.tokenized).toBe(true);
    });

  it('reads tasks, alpaca input joined to the instruction', async () => {
    const ds = await load('a.jsonl', jsonl([{ instruction: 'Add:', input: '1 1', output: '2' }]));
    expect(ds.examples[0].prompt).toBe('Add:\n\n1 1');
    expect(ds.examples[0].task).toBe('default');
    const ds2 = await load('b.jsonl', jsonl([{ instruction: 'x', output: 'y', task: 'T1' }, { instruction: 'x2', output: 'y', task: 7 }]));
    expect(ds2.result().tasks).toEqual({ T1: 1, '7': 1 });
  });

  it('returns the columns when nothing matches, and accepts a mapping', async () => {
    const text = jsonl([{ q: 'what?', label: 'yes', subject: 'a' }, { q: 'why?', label: 'no', subject: 'b' }]);
    const r = (await load('u.jsonl', text)).result();
    expect(r.shape).toBe('unknown');
    expect(r.columns).toEqual(['q', 'label', 'subject']);
    expect(r.kept).toBe(0);
    const m = (await load('u.jsonl', text, { mapping: { prompt: 'q', answer: 'label', task: 'subject' } })).result();
    expect(m.shape).toBe('mapped');
    expect(m.kept).toBe(2);
    expect(m.tasks).toEqual({ a: 1, b: 1 });
    await expect(load('u.jsonl', text, { mapping: { prompt: 'question', answer: 'label' } })).rejects.toThrow(/no column "question"/);
  });

  it('JSON arrays, CSV and TSV with line numbers; CRLF and BOM', async () => {
    const arr = '\uFEFF[\r\n  {"instruction": "a", "output": "b"},\r\n  {"instruction": "", "output": "b"}\r\n]';
    const j = (await load('d.json', arr)).result();
    expect(j.format).toBe('json');
    expect(j.kept).toBe(1);
    expect(j.problems[0]).toMatchObject({ line: 3, field: 'instruction' });
    const csv = '\uFEFFprompt,completion,task\r\n"multi\r\nline",b,t1\r\n\r\nc,,t2\r\ne,f\r\ng,h,t1\r\n';
    const c = (await load('d.csv', csv)).result();
    expect(c.format).toBe('csv');
    expect(c.shape).toBe('prompt-completion');
    expect(c.kept).toBe(2);
    expect(c.problems.map((p) => p.line)).toEqual([5, 6]);
    expect(c.problems[0]).toMatchObject({ field: 'completion', message: '"completion" is empty' });
    expect(c.problems[1].message).toMatch(/2 fields, the header \(line 1\) has 3/);
    const tsv = 'instruction\toutput\ttask\nx\ty\tt\n';
    expect((await load('d.tsv', tsv)).result()).toMatchObject({ format: 'tsv', kept: 1 });
    const crlf = (await load('d.jsonl', '\uFEFF{"text":"a b"}\r\n{"text":"c d"}\r\n')).result();
    expect(crlf.kept).toBe(2);
  });

  it('multiple choice in both forms records letters and the gold letter', async () => {
    const ds = await load('mc.jsonl', jsonl([
      { question: 'Q1', choices: ['x', 'y', 'z'], answer: 'y' },
      { question: 'Q2', choices: ['x', 'y'], answer: 1 },
      { question: 'Q3', choices: ['x', 'y'], answer: 'b' },
      { question: 'Q4', choices: ['x', 'y'], answer: 'w' },
    ]));
    const r = ds.result();
    expect(r.multipleChoice).toBe(3);
    expect(ds.examples.map((e) => e.mc?.answer)).toEqual(['B', 'B', 'B']);
    expect(ds.examples[0].prompt).toBe('Q1\nChoices:\nA. x\nB. y\nC. z\nAnswer:\n');
    expect(ds.examples[0].answer).toBe('B');
    expect(r.problems[0]).toMatchObject({ line: 4, field: 'answer' });
    expect(r.problems[0].message).toMatch(/names no choice/);
    const paper = await load('p.jsonl', jsonl([
      { instruction: 'Is it?\nChoices:\nA. yes\nB. no\nAnswer:\n', output: 'B', task: 'boolq' },
      { instruction: 'Is it?\nChoices:\nA. yes\nB. no\nAnswer:\n', output: 'C', task: 'boolq' },
      { instruction: 'free text', output: 'C', task: 'gen' },
    ]));
    expect(paper.examples[0].mc).toEqual({ letters: ['A', 'B'], answer: 'B' });
    expect(paper.examples[1].mc).toBeNull();
    expect(paper.result().problems[0]).toMatchObject({ line: 2 });
    expect(paper.result().refusedBy['answer names no choice']).toBe(1);
  });

  it('guesses a column mapping from the names of a file of no known shape, and the guess imports', async () => {
    expect(guessMapping(['question', 'answer'])).toEqual({ prompt: 'question', answer: 'answer' });
    expect(guessMapping(['Question', 'Context', 'Answer', 'Category'])).toEqual({ prompt: 'Question', input: 'Context', answer: 'Answer', task: 'Category' });
    expect(guessMapping(['text', 'label'])).toEqual({ prompt: 'text', answer: 'label' });
    expect(guessMapping(['input', 'target'])).toEqual({ prompt: 'input', answer: 'target' }); // "input" as the prompt, not also its second part
    expect(guessMapping(['query_text', 'expected', 'sub-ject', 'options'])).toEqual({ answer: 'expected', task: 'sub-ject' }); // no choices guessed
    expect(guessMapping(['source', 'text', 'label'])).toEqual({ prompt: 'text', answer: 'label' }); // "source" is where a row came from
    expect(guessMapping(['a', 'b'])).toEqual({});
    const csv = 'question,answer,category\nWhat is 2 plus 3?,5,math\nSpell cat backwards,tac,spell\n';
    const unknown = (await load('q.csv', csv)).result();
    expect(unknown.shape).toBe('unknown');
    const guess = guessMapping(unknown.columns!);
    const mapped = (await load('q.csv', csv, { mapping: { prompt: guess.prompt!, answer: guess.answer!, task: guess.task } })).result();
    expect(mapped).toMatchObject({ shape: 'mapped', kept: 2, tasks: { math: 1, spell: 1 } });
  });
});

describe('problems, by line', () => {
  it('reports each kind with its exact line and counts every refusal', async () => {
    const lines = [
      '{"instruction": "a", "output": "b", "task": "t", "emb": [1, 0]}', // 1 ok
      '{"instruction": "a", "output": "b", "task": "t", "emb": [1, 0]}', // 2 duplicate (kept)
      '{"instruction": "a", "output": ', // 3 bad JSON
      '', // 4 blank: skipped silently
      '{"output": "b"}', // 5 missing instruction
      '{"instruction": "  ", "output": "b"}', // 6 empty
      '{"instruction": ["x"], "output": "b"}', // 7 wrong type
      '{"instruction": "c", "output": "d", "emb": [1, 2, 3]}', // 8 emb length
      '[1, 2]', // 9 not an object
      '{"instruction": "e", "output": "f", "emb": [1, "x"]}', // 10 emb value
    ];
    const ds = await load('p.jsonl', lines.join('\n'));
    const r = ds.result();
    expect(r.rows).toBe(9);
    expect(r.kept).toBe(2);
    expect(r.refused).toBe(7);
    expect(r.duplicates).toBe(1);
    expect(r.embDim).toBe(2);
    const at = (l: number) => r.problems.find((p) => p.line === l)!;
    expect(at(2).message).toBe('duplicate of line 1 (kept)');
    expect(at(3).message).toMatch(/^bad JSON at column \d+/);
    expect(at(5)).toMatchObject({ field: 'instruction', message: 'missing field "instruction"' });
    expect(at(6)).toMatchObject({ field: 'instruction', message: '"instruction" is empty' });
    expect(at(7)).toMatchObject({ field: 'instruction', message: '"instruction" must be text, found an array' });
    expect(at(8)).toMatchObject({ field: 'emb', message: '"emb" has 3 values; the first embedding (line 1) has 2' });
    expect(at(9).message).toBe('expected a JSON object, found an array');
    expect(at(10).field).toBe('emb');
    expect(r.problems.some((p) => p.line === 4)).toBe(false);
    expect(r.refusedBy).toMatchObject({ 'bad JSON': 1, 'missing field': 1, 'empty field': 1, 'wrong type': 1, 'bad emb': 2, 'not an object': 1 });
  });

  it('a file with no usable row is an error that says why', async () => {
    await expect(load('x.jsonl', '{"instruction": 1, "output": "b"}\n{"nope')).rejects.toThrow(/no usable row: all 2 records were refused \(1 wrong type, 1 bad JSON\); the first at line 1/);
    // Not one line readable: the JSON problems, not a column mapping over no columns.
    await expect(load('allbad.jsonl', 'garbage\n{{{')).rejects.toThrow(/^allbad\.jsonl has no usable row: all 2 records were refused \(2 bad JSON\); the first at line 1: bad JSON/);
    await expect(load('x.jsonl', '  \n')).rejects.toThrow(/is empty/);
    await expect(load('x.json', '[{"a": 1},')).rejects.toThrow(/not valid JSON at line 1, column/);
    await expect(load('x.csv', 'a,b\n')).rejects.toThrow(DatasetError);
  });

  it('keeps only the first 1,000 problems, counts them all', async () => {
    const text = Array.from({ length: 1500 }, (_, i) => (i % 2 ? '{"text": "ok"}' : '{bad')).join('\n');
    const r = (await load('many.jsonl', text)).result();
    expect(r.problems.length).toBe(1000);
    expect(r.problemCount).toBe(750 + 749); // 750 bad JSON, 749 duplicates of line 2
    expect(r.refused).toBe(750);
  });

  it('long rows are cut (prompt start first) or refused per the setting', async () => {
    const long = { instruction: 'word '.repeat(200), output: 'yes', task: 't' };
    const short = { instruction: 'hi', output: 'yes', task: 't' };
    const text = jsonl([short, long]);
    const cut = await load('l.jsonl', text, { maxLength: 40, validationFraction: 0 });
    const r = cut.result();
    expect(r).toMatchObject({ kept: 2, truncated: 1, refused: 0 });
    expect(r.problems[0]).toMatchObject({ line: 2 });
    expect(r.problems[0].message).toMatch(/cut to 40 \(the prompt's start removed\)/);
    const [b] = cut.peekBatches({ split: 'train', count: 1, batchSize: 2 });
    const row = b.rows.indexOf(1);
    const ids = b.ids.slice(row * b.T, (row + 1) * b.T);
    expect(ids[0]).toBe(LLAMA.tok.tokenToId('<s>')); // the tokenizer's prefix survives the cut
    const answer = LLAMA.tok.encode('yes', false);
    const targets = b.targets.slice(row * b.T, (row + 1) * b.T).filter((t) => t !== IGNORE);
    expect(targets).toEqual([...answer, LLAMA.eosId]);
    const refused = (await load('l.jsonl', text, { maxLength: 40, overLength: 'refuse' })).result();
    expect(refused).toMatchObject({ kept: 1, truncated: 0, refused: 1 });
    expect(refused.refusedBy['too long']).toBe(1);
  });
});

describe('templating and the loss mask', () => {
  const texts = (b: DatasetBatch, tok: TokenizerInfo, row: number, what: 'loss' | 'input') => {
    const ids: number[] = [];
    for (let i = 0; i < b.T; i++) {
      const k = row * b.T + i;
      if (what === 'loss' && b.targets[k] !== IGNORE) ids.push(b.targets[k]);
      if (what === 'input' && b.mask[k]) ids.push(b.ids[k]);
    }
    return tok.tok.decode(ids);
  };

  it('plain instruction template: loss on the answer and EOS only, never on prompt or padding', async () => {
    const ds = await load('t.jsonl', jsonl([{ instruction: 'Add 2 and 2', output: '4', task: 'm' }, { instruction: 'A much longer instruction here', output: 'ok', task: 'm' }]), { validationFraction: 0 }, GPT2);
    const [b] = ds.peekBatches({ split: 'train', count: 1, batchSize: 2 });
    expect(b.B).toBe(2);
    for (let r = 0; r < 2; r++) {
      const ex = ds.examples[b.rows[r]];
      expect(texts(b, GPT2, r, 'loss')).toBe(`${ex.answer}<|endoftext|>`);
      expect(texts(b, GPT2, r, 'input')).toBe(`### Instruction:\n${ex.prompt}\n\n### Response:\n${ex.answer}`);
    }
    // padding: mask 0 and target ignored
    for (let k = 0; k < b.B * b.T; k++) if (!b.mask[k]) expect(b.targets[k]).toBe(IGNORE);
    expect(b.mask.filter((m) => m === 0).length).toBeGreaterThan(0);
  });

  it("chat rows use the model's chat template, loss on every assistant turn", async () => {
    const ds = await load('c.jsonl', jsonl([{ messages: [
      { role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'bye' }, { role: 'assistant', content: 'ciao' },
    ] }]), { validationFraction: 0 }, QWEN);
    const [b] = ds.peekBatches({ split: 'train', count: 1, batchSize: 1 });
    expect(texts(b, QWEN, 0, 'loss')).toBe('hello<|im_end|>\nciao<|im_end|>\n');
    expect(texts(b, QWEN, 0, 'input').startsWith('<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello')).toBe(true);
  });

  it('text rows: loss on every token after the first', async () => {
    const ds = await load('x.jsonl', jsonl([{ text: 'the cat sat' }]), { validationFraction: 0 }, LLAMA);
    const [b] = ds.peekBatches({ split: 'train', count: 1, batchSize: 1 });
    expect(b.targets.every((t) => t !== IGNORE)).toBe(true);
    expect(texts(b, LLAMA, 0, 'loss')).toBe(LLAMA.tok.decode([...LLAMA.tok.encode('the cat sat', false), LLAMA.eosId!]));
  });

  it('imports without a model, tokenizes when one arrives', async () => {
    const ds = await load('n.jsonl', jsonl([{ text: 'a' }, { text: 'b' }]), {}, null);
    expect(ds.result().tokenized).toBe(false);
    expect(() => ds.peekBatches({ split: 'train', count: 1, batchSize: 1 })).toThrow(/load a model first/);
    await ds.tokenize(GPT2);
    expect(ds.peekBatches({ split: 'train', count: 1, batchSize: 1 })).toHaveLength(1);
  });
});

describe('splits and batches', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ instruction: `q${i} ${'x '.repeat(i % 7)}`, output: `a${i}`, task: `t${i % 3}` }));

  it('stratified split: every task on both sides, deterministic per seed', async () => {
    const a = (await load('s.jsonl', jsonl(rows(60)), { seed: 3, validationFraction: 0.2 })).result();
    expect(a.validation).toBe(12);
    const ds = await load('s.jsonl', jsonl(rows(60)), { seed: 3, validationFraction: 0.2 });
    const val = ds.rows('validation');
    expect(new Set(val.map((i) => ds.examples[i].task))).toEqual(new Set(['t0', 't1', 't2']));
    const train = ds.rows('train');
    expect(new Set(train.map((i) => ds.examples[i].task))).toEqual(new Set(['t0', 't1', 't2']));
    expect((await load('s.jsonl', jsonl(rows(60)), { seed: 3, validationFraction: 0.2 })).rows('validation')).toEqual(val);
    expect((await load('s.jsonl', jsonl(rows(60)), { seed: 4, validationFraction: 0.2 })).rows('validation')).not.toEqual(val);
    const s = stratifiedSplit([0, 1, 1, 2, 2, 2], 3, 0.5, 1);
    expect(s.validation.length).toBe(3); // task 0 (one row) stays in train; tasks 1 and 2 give one or two
  });

  it('a validation file supplies the whole validation split', async () => {
    const ds = await Dataset.import({ name: 'tr.jsonl', text: jsonl(rows(10)) }, { validation: { name: 'va.csv', text: 'instruction,output,task\nv,w,t0\n' } }, LLAMA);
    expect(ds.result()).toMatchObject({ train: 10, validation: 1, kept: 11 });
  });

  it('every row once per epoch, length-bucketed, a new order next epoch', async () => {
    const ds = await load('e.jsonl', jsonl(rows(77)), { validationFraction: 0 });
    const per = Math.ceil(77 / 5);
    const batches = ds.peekBatches({ split: 'train', count: 2 * per, batchSize: 5 });
    const e0 = batches.slice(0, per).flatMap((b) => b.rows).sort((a, b) => a - b);
    const e1 = batches.slice(per).flatMap((b) => b.rows).sort((a, b) => a - b);
    expect(e0).toEqual(Array.from({ length: 77 }, (_, i) => i));
    expect(e1).toEqual(e0);
    expect(batches.slice(per).map((b) => b.rows)).not.toEqual(batches.slice(0, per).map((b) => b.rows));
    expect(batches[per - 1].B).toBe(77 % 5);
    // bucketing: padding is far less than in an unsorted batching of the same rows
    const padded = batches.slice(0, per).reduce((s, b) => s + b.mask.filter((m) => !m).length, 0);
    const list = epochBatches(Array.from({ length: 77 }, (_, i) => i), Array.from({ length: 77 }, (_, i) => i % 7), 5, epochRngState(0, 0));
    expect(list.flat().sort((a, b) => a - b)).toHaveLength(77);
    expect(padded).toBeLessThan(77 * 3);
  });

  it('the cursor round trip: a restored reader gives exactly the batches that followed', async () => {
    const ds = await load('c.jsonl', jsonl(rows(23)), { validationFraction: 0, seed: 9 });
    const reader = ds.startReading({ batchSize: 4 });
    for (let i = 0; i < 7; i++) reader.next(); // into the second epoch
    const saved = JSON.parse(JSON.stringify(ds.cursor));
    expect(saved.epoch).toBe(1);
    const expected = Array.from({ length: 9 }, () => ds.nextBatch({ batchSize: 4 }));
    const ds2 = await load('c.jsonl', jsonl(rows(23)), { validationFraction: 0, seed: 9 });
    ds2.startReading({ batchSize: 4 }, saved);
    const got = Array.from({ length: 9 }, () => ds2.nextBatch({ batchSize: 4 }));
    expect(got).toEqual(expected);
    // peek does not move the cursor
    const before = ds2.cursor;
    const peeked = ds2.peekBatches({ split: 'train', count: 3, batchSize: 4 });
    expect(ds2.cursor).toEqual(before);
    expect(ds2.nextBatch({ batchSize: 4 })).toEqual(peeked[0]);
  });

  it('validation batches are fixed', async () => {
    const ds = await load('v.jsonl', jsonl(rows(40)), { validationFraction: 0.25 });
    const a = ds.peekBatches({ split: 'validation', count: 100, batchSize: 3 });
    expect(a.flatMap((b) => b.rows).sort((x, y) => x - y)).toEqual(ds.rows('validation').sort((x, y) => x - y));
    expect(ds.peekBatches({ split: 'validation', count: 100, batchSize: 3 })).toEqual(a);
  });

  it('fixed padding and the maxLength of a peek', async () => {
    const ds = await load('f.jsonl', jsonl(rows(6)), { validationFraction: 0 });
    const [b] = ds.peekBatches({ split: 'train', count: 1, batchSize: 2, padTo: 48 });
    expect(b.T).toBe(48);
    const [c] = ds.peekBatches({ split: 'validation', count: 1, batchSize: 2, maxLength: 8 });
    expect(c).toBeUndefined(); // no validation rows
    expect(() => ds.peekBatches({ split: 'train', count: 1, batchSize: 2, padTo: 2 })).toThrow(/padTo 2 is shorter/);
  });
});

describe('fuzzing the importers', () => {
  // Seeded mutations of valid files: every input ends in a result or a DatasetError, never
  // another exception, and the counts always add up.
  const seedJsonl = jsonl([
    { instruction: 'Q?\nChoices:\nA. a\nB. b\nAnswer:\n', output: 'A', task: 'mc', emb: [0.1, 0.2] },
    { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] },
    { prompt: 'p', completion: 'c', task: 't' },
    { question: 'q', choices: ['a', 'b'], answer: 1 },
    { text: 'plain' },
  ]);
  const seedCsv = 'instruction,output,task\n"a, quoted",b,t\nc,"d ""q""",t2\n"multi\nline",e,t\n';
  const ALPHABET = ['{', '}', '[', ']', '"', ',', ':', '\n', '\r\n', '\t', '\\', ' ', 'a', '1', '-', 'null', 'é', '\uFEFF', '\u0000'];

  function mutate(text: string, rng: Random): string {
    let s = text;
    const n = 1 + rng.int(6);
    for (let i = 0; i < n; i++) {
      const at = rng.int(s.length + 1);
      switch (rng.int(4)) {
        case 0: s = s.slice(0, at) + s.slice(at + 1 + rng.int(8)); break;
        case 1: s = s.slice(0, at) + ALPHABET[rng.int(ALPHABET.length)] + s.slice(at); break;
        case 2: { const from = rng.int(s.length); s = s.slice(0, at) + s.slice(from, from + rng.int(30)) + s.slice(at); break; }
        default: s = s.slice(0, at) + s.slice(at).split('').reverse().slice(0, 5).join('') + s.slice(at + 5);
      }
    }
    return s;
  }

  for (const [name, base] of [['f.jsonl', seedJsonl], ['f.csv', seedCsv], ['f.json', `[${seedJsonl.split('\n').join(',\n')}]`]] as const)
    it(`${name}: 150 mutations`, async () => {
      const rng = new Random(1234);
      let results = 0, errors = 0;
      for (let i = 0; i < 150; i++) {
        const text = mutate(base, rng);
        try {
          const r = (await load(name, text, { maxLength: 64 }, i % 2 ? LLAMA : null)).result();
          expect(r.kept + r.refused).toBe(r.rows);
          expect(r.problemCount).toBeGreaterThanOrEqual(r.refused - (r.shape === 'unknown' ? r.rows : 0));
          results++;
        } catch (e) {
          if (!(e instanceof DatasetError)) throw new Error(`mutation ${i} of ${name} threw ${e instanceof Error ? e.stack : e}\n--- input:\n${JSON.stringify(text)}`, { cause: e });
          errors++;
        }
      }
      expect(results).toBeGreaterThan(0);
      expect(results + errors).toBe(150);
    });
});
