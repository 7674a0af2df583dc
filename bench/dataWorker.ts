// Dataset import benchmark, in a Web Worker as in the app: a generated JSONL file (seeded; the
// paper's {instruction, output, task} rows mixing multiple choice and free answers) is imported
// from a Blob (streamed, as a file picker gives it), validated and tokenized with a fixture
// model's tokenizer. Generating the file is not timed.
import { Dataset } from '../src/data/dataset.ts';
import { TextTokenizer } from '../src/model/tokenizer.ts';
import { Random } from '../src/util/random.ts';

export interface DataBenchRequest {
  megabytes: number;
  model: string;
}

export interface DataBenchResult {
  megabytes: number;
  rows: number;
  tokens: number;
  seconds: number;
  parseSeconds: number;
  fastPath: boolean;
}

const WORDS = ('the of and to in is was for on that with as by at from his her they this which were have had not are but one all ' +
  'river mountain city music garden winter summer doctor teacher engine window market letter science history number ' +
  'quick slow bright dark happy angry gentle strong quiet loud early late simple modern ancient').split(' ');

function generate(megabytes: number): string {
  const r = new Random(2024);
  const parts: string[] = [];
  let size = 0;
  const sentence = (n: number) => Array.from({ length: n }, () => WORDS[r.int(WORDS.length)]).join(' ');
  for (let i = 0; size < megabytes * 1e6; i++) {
    let row: object;
    if (i % 3 === 0) {
      const choices = Array.from({ length: 4 }, (_, k) => `${'ABCD'[k]}. ${sentence(2 + r.int(4))}`).join('\n');
      row = { instruction: `${sentence(20 + r.int(60))}?\nChoices:\n${choices}\nAnswer:\n`, output: 'ABCD'[r.int(4)], task: `mc${r.int(6)}` };
    } else row = { instruction: `${sentence(15 + r.int(80))}.`, output: sentence(1 + r.int(12)), task: `gen${r.int(6)}` };
    const line = JSON.stringify(row);
    parts.push(line);
    size += line.length + 1;
  }
  return parts.join('\n');
}

self.onmessage = async (e: MessageEvent<DataBenchRequest>) => {
  try {
    const { megabytes, model } = e.data;
    // A name is a test fixture; a path (the bundled model) is served as is.
    const base = model.startsWith('/') ? model : `/e2e/fixtures/models/${model}/`;
    const get = async (f: string) => (await fetch(`${base}${f}`)).json();
    const tok = new TextTokenizer(await get('tokenizer.json'), await get('tokenizer_config.json'));
    const blob = new Blob([generate(megabytes)], { type: 'application/jsonl' });
    const t0 = performance.now();
    const ds = await Dataset.import({ name: 'bench.jsonl', blob }, { maxLength: 4096 }, null);
    const t1 = performance.now();
    await ds.tokenize({ tok, eosId: tok.eosId, maxPositions: 1 << 20 });
    const t2 = performance.now();
    const r = ds.result();
    const tokens = Math.round((r.lengths?.mean ?? 0) * r.kept);
    self.postMessage({ ok: true, result: { megabytes: blob.size / 1e6, rows: r.kept, tokens, seconds: (t2 - t0) / 1000, parseSeconds: (t1 - t0) / 1000, fastPath: tok.fastPath } satisfies DataBenchResult });
  } catch (err) {
    self.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
