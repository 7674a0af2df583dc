// The studio's issue-14 views in Node: the Data step's row preview (Dataset.preview: pages, the
// split filter, a validation file's own lines, clipping, text kept as it was read), and the pure
// helpers behind the routing strip and the playground's cluster scores.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer } from '../src/model/tokenizer.ts';
import { Dataset, PREVIEW_CLIP, type TokenizerInfo } from '../src/data/dataset.ts';
import { MODELS_DIR } from './modelFixtures.ts';
import { lastPageOffset, pageLabel } from '../src/ui/DataPreview.tsx';
import { cellAt, scaleOf, STRIP, stripColour, stripSize, tokenLabel, topExperts } from '../src/ui/RoutingStrip.tsx';
import { barExtent, topClusters } from '../src/ui/PromptScores.tsx';

function tokenizer(name: string): TokenizerInfo {
  const json = (f: string) => JSON.parse(readFileSync(join(MODELS_DIR, name, f), 'utf8'));
  const tok = new TextTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  return { tok, eosId: tok.eosId, maxPositions: 128 };
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
const rowsOf = (n: number, task = 'add') => Array.from({ length: n }, (_, i) => ({ instruction: `Add ${i} and 1.`, output: String(i + 1), task }));

describe('Dataset.preview', () => {
  it('pages through the kept rows with their file lines; a refused line leaves a gap, not a shift', async () => {
    const text = [jsonl(rowsOf(3)), '{"instruction": "broken', jsonl(rowsOf(120).slice(3))].join('\n');
    const ds = await Dataset.import({ name: 'a.jsonl', text }, {}, null);
    const first = ds.preview({ offset: 0, count: 50 });
    expect(first.total).toBe(120);
    expect(first.rows).toHaveLength(50);
    expect(first.rows.slice(0, 5).map((r) => r.line)).toEqual([1, 2, 3, 5, 6]);
    expect(first.rows[3]).toMatchObject({ index: 3, file: 'a.jsonl', task: 'add', kind: 'instruction', instruction: 'Add 3 and 1.', output: '4', split: null, clipped: false, answerLetter: null });
    const last = ds.preview({ offset: 100, count: 50 });
    expect(last).toMatchObject({ total: 120, offset: 100 });
    expect(last.rows.map((r) => r.index)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(ds.preview({ offset: 500, count: 50 }).rows).toEqual([]);
    expect(ds.preview({ offset: -3.5, count: 10_000 }).rows).toHaveLength(120); // clamped: offset 0, at most 500
    // Before a model tokenizes the rows there is no split to filter by.
    expect(() => ds.preview({ offset: 0, count: 5, split: 'validation' })).toThrow(/load a model first/);
  });

  it('filters by split once tokenized; rows of a validation file carry that file and its lines', async () => {
    const ds = await Dataset.import(
      { name: 'train.jsonl', text: jsonl([...rowsOf(6), ...rowsOf(4, 'rev')]) },
      { validation: { name: 'val.jsonl', text: jsonl(rowsOf(3, 'rev')) } },
      tokenizer('tiny-llama'),
    );
    const all = ds.preview({ offset: 0, count: 50 });
    expect(all.total).toBe(13);
    expect(all.rows.map((r) => r.split)).toEqual([...Array(10).fill('train'), ...Array(3).fill('validation')]);
    const val = ds.preview({ offset: 0, count: 50, split: 'validation' });
    expect(val.total).toBe(3);
    expect(val.rows.map((r) => [r.file, r.line, r.task])).toEqual([['val.jsonl', 1, 'rev'], ['val.jsonl', 2, 'rev'], ['val.jsonl', 3, 'rev']]);
    const train = ds.preview({ offset: 8, count: 5, split: 'train' });
    expect(train).toMatchObject({ total: 10, offset: 8 });
    expect(train.rows.map((r) => r.index)).toEqual([8, 9]);
  });

  it('keeps text as read (markup, newlines), cuts long fields, and shows chat, text and multiple-choice rows', async () => {
    const long = 'x'.repeat(PREVIEW_CLIP + 10);
    const ds = await Dataset.import({
      name: 'mixed.jsonl',
      text: jsonl([
        { instruction: '<b>bold</b>\nsecond line', output: long, task: 'html' },
        { instruction: 'Sky?\nChoices:\nA. blue\nB. green\nAnswer:\n', output: 'A', task: 'mc' },
      ]),
    }, {}, null);
    const [html, mc] = ds.preview({ offset: 0, count: 5 }).rows;
    expect(html.instruction).toBe('<b>bold</b>\nsecond line');
    expect(html.output).toHaveLength(PREVIEW_CLIP);
    expect(html.clipped).toBe(true);
    expect(mc.answerLetter).toBe('A');
    const chat = await Dataset.import({ name: 'chat.jsonl', text: jsonl([{ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }]) }, {}, null);
    expect(chat.preview({ offset: 0, count: 1 }).rows[0]).toMatchObject({ kind: 'chat', instruction: 'hi', output: 'hello', task: 'default' });
    const text = await Dataset.import({ name: 'text.jsonl', text: jsonl([{ text: 'once upon a time' }]) }, {}, null);
    expect(text.preview({ offset: 0, count: 1 }).rows[0]).toMatchObject({ kind: 'text', instruction: '', output: 'once upon a time' });
  });
});

describe('preview pages', () => {
  it('labels the range and finds the last page', () => {
    expect(pageLabel(0, 50, 4950)).toBe('Rows 1–50 of 4,950');
    expect(pageLabel(4900, 50, 4950)).toBe('Rows 4,901–4,950 of 4,950');
    expect(pageLabel(0, 0, 0)).toBe('No rows');
    expect(lastPageOffset(4950)).toBe(4900);
    expect(lastPageOffset(450)).toBe(400);
    expect(lastPageOffset(50)).toBe(0);
    expect(lastPageOffset(51)).toBe(50);
    expect(lastPageOffset(0)).toBe(0);
  });
});

describe('routing strip', () => {
  it('maps canvas points to (token, expert) cells and back', () => {
    const T = 5, E = 8;
    expect(stripSize(T, E)).toEqual({ width: STRIP.labelW + E * STRIP.cellW, height: STRIP.top + T * STRIP.cellH });
    expect(cellAt(STRIP.labelW + 0.5, STRIP.top + 0.5, T, E)).toEqual({ token: 0, expert: 0 });
    expect(cellAt(STRIP.labelW + 3 * STRIP.cellW + 1, STRIP.top + 4 * STRIP.cellH + 1, T, E)).toEqual({ token: 4, expert: 3 });
    expect(cellAt(STRIP.labelW - 1, STRIP.top + 1, T, E)).toBeNull(); // the token labels
    expect(cellAt(STRIP.labelW + 1, STRIP.top - 1, T, E)).toBeNull(); // the expert numbers
    expect(cellAt(STRIP.labelW + E * STRIP.cellW, STRIP.top + 1, T, E)).toBeNull();
    expect(cellAt(STRIP.labelW + 1, STRIP.top + T * STRIP.cellH, T, E)).toBeNull();
  });

  it('colours white at zero, red at +max, blue at −max, grey for a non-finite value', () => {
    expect(stripColour(0, 2)).toBe('rgb(255,255,255)');
    expect(stripColour(2, 2)).toBe('rgb(200,40,40)');
    expect(stripColour(5, 2)).toBe('rgb(200,40,40)'); // clamped
    expect(stripColour(-2, 2)).toBe('rgb(45,91,227)');
    expect(stripColour(1, 0)).toBe('rgb(255,255,255)');
    expect(stripColour(NaN, 1)).toBe('#c9ced8');
    expect(scaleOf(Float32Array.from([0.5, -3, NaN, 2]))).toBe(3);
  });

  it('ranks a token\'s experts and makes token text visible', () => {
    const v = Float32Array.from([0.1, 0.5, 0.5, 0.2, /* token 1 */ 3, 1, 2, 0]);
    expect(topExperts(v, 0, 4, 2)).toEqual([1, 2]); // ties: lower index first
    expect(topExperts(v, 1, 4, 3)).toEqual([0, 2, 1]);
    expect(tokenLabel(' the')).toBe('·the');
    expect(tokenLabel('\n')).toBe('⏎');
    expect(tokenLabel('')).toBe('∅');
    expect(tokenLabel('abcdefghijklmnopqrstuvwxyz', 10)).toBe('abcdefghi…');
  });
});

describe('cluster scores', () => {
  it('finds the highest clusters and sizes the bars around the zero line', () => {
    expect(topClusters([0.2, 0.9, -0.1, 0.9], 3)).toEqual([1, 3, 0]);
    expect(barExtent(0.5, 1, false)).toEqual({ from: 0, height: 50, negative: false });
    expect(barExtent(1, 1, true)).toEqual({ from: 50, height: 50, negative: false });
    expect(barExtent(-0.5, 1, true)).toEqual({ from: 25, height: 25, negative: true });
    expect(barExtent(0.3, 0, false).height).toBe(0);
  });
});
