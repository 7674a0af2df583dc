// compare:node's local server (scripts/cli/compare-node.ts): it stands in for Vite, so the engine
// fetches the bundled model and suite from public/ and the user's files from their mounts at the
// same URLs as in the page, and nothing outside them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { listen } from '../scripts/cli/compare-node.ts';

describe('compare:node local server', () => {
  const root = mkdtempSync(join(tmpdir(), 'mor1e-cn-'));
  let server: Server, base: string;
  beforeAll(async () => {
    mkdirSync(join(root, 'public', 'data', 'suite'), { recursive: true });
    writeFileSync(join(root, 'public', 'data', 'suite', 'train.jsonl'), '{"instruction":"a","output":"b"}\n');
    writeFileSync(join(root, 'secret.txt'), 'not served');
    mkdirSync(join(root, 'user'));
    writeFileSync(join(root, 'user', 'mine.jsonl'), '{"instruction":"c","output":"d"}\n');
    ({ server, base } = await listen(root, { '/__cli/data/train/mine.jsonl': { file: join(root, 'user', 'mine.jsonl') }, '/__cli/model/': { dir: join(root, 'user') } }));
  });
  afterAll(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
  });
  const get = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
  };

  it('serves public/ at the root, as Vite does', async () => {
    expect(await get('/data/suite/train.jsonl')).toEqual({ status: 200, text: '{"instruction":"a","output":"b"}\n', type: 'application/jsonl' });
    expect((await get('/data/suite/missing.jsonl')).status).toBe(404);
    expect((await get('/data/suite')).status).toBe(404);
  });

  it('serves mounted files and folders, and nothing outside public/ or a mount', async () => {
    expect((await get('/__cli/data/train/mine.jsonl')).text).toBe('{"instruction":"c","output":"d"}\n');
    expect((await get('/__cli/model/mine.jsonl')).status).toBe(200);
    expect((await get('/__cli/model/nothing.json')).status).toBe(404);
    expect((await get('/secret.txt')).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('/__cli/model/%2e%2e%2fsecret.txt')).status).toBe(404);
  });
});
