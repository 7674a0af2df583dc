// A local stand-in for the Hugging Face hub (tests have no internet): serves the fixture models
// of e2e/fixtures/models under the hub's URL layout, /{owner}/{name}/resolve/{revision}/{file},
// with CORS and Content-Length, and counts requests per path (GET /__requests) so tests can
// check that a reload comes from the browser's cache. Only "main" exists as a revision.
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

const ROOT = join(import.meta.dirname, 'fixtures', 'models');
const PORT = Number(process.env.MOR1E_HUB_PORT ?? 5175);
const counts = {};

createServer((req, res) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/__requests') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(counts));
    return;
  }
  counts[url.pathname] = (counts[url.pathname] ?? 0) + 1;
  const m = /^\/mor1e-test\/([\w.-]+)\/resolve\/([\w.-]+)\/([\w.-]+)$/.exec(url.pathname);
  const file = m && m[2] === 'main' ? normalize(join(ROOT, m[1], m[3])) : null;
  if (!file || !file.startsWith(ROOT) || !existsSync(file)) {
    res.statusCode = 404;
    res.end('Entry not found');
    return;
  }
  res.setHeader('content-length', String(statSync(file).size));
  res.setHeader('content-type', 'application/octet-stream');
  createReadStream(file).pipe(res);
}).listen(PORT, '127.0.0.1', () => console.log(`fixture hub on http://127.0.0.1:${PORT}`));
