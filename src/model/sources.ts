// Where a model's files come from: a local folder or file selection (File objects, read
// lazily), a URL prefix, or a Hugging Face model id fetched from /{repo}/resolve/{revision}/
// with progress per file. Weights (safetensors) are never collected in memory: from a URL they
// are read tensor by tensor with HTTP range requests; from the hub they stream into the Cache
// API (on disk) and are read back in slices, so a reload does not download again. A cache write
// that fails (quota, a private window) never fails the load: the file is read by ranges instead,
// and the progress event says why it was not cached.
import { blobSource, type ByteSource } from './safetensors.ts';

export interface FileProgress {
  file: string;
  /**
   * 'missing': the source has no such file (optional files such as a shard index); 'uncached':
   * the download could not be kept in the browser's cache (`message` says why) and is read
   * from the network instead.
   */
  status: 'initiate' | 'progress' | 'done' | 'cached' | 'missing' | 'uncached';
  loaded: number;
  total: number | null;
  message?: string;
}

export type ProgressFn = (p: FileProgress) => void;

export interface ModelFiles {
  /** Where the files come from, for messages: "folder tiny-gpt2", "https://…/", "hub gpt2@main". */
  label: string;
  /** The file's contents, or null when the source has no such file (small files: configs, tokenizers). */
  open(name: string): Promise<Blob | null>;
  /** Random access to a large file (weights) without holding it in memory; absent: use open(). */
  openRange?(name: string): Promise<ByteSource | null>;
}

export interface NamedBlob {
  /** Path relative to the model folder (a top folder of a directory upload is stripped). */
  name: string;
  blob: Blob;
}

/** A local selection: files of one folder (directory picker, drag and drop, or a multi-select). */
export function filesFromBlobs(files: NamedBlob[], label = 'the selected files'): ModelFiles {
  const paths = files.map((f) => f.name.replace(/\\/g, '/'));
  // A folder upload names files "folder/config.json": strip a common first segment.
  const first = paths[0]?.includes('/') ? paths[0].slice(0, paths[0].indexOf('/') + 1) : '';
  const strip = first && paths.every((p) => p.startsWith(first)) ? first.length : 0;
  const map = new Map(files.map((f, i) => [paths[i].slice(strip), f.blob]));
  return { label, open: async (name) => map.get(name) ?? null };
}

export interface FetchOptions {
  onProgress?: ProgressFn;
  /** Cache API cache to read from and write to (null: no caching). */
  cache?: Cache | null;
  fetchFn?: typeof fetch;
}

async function download(url: string, file: string, opts: FetchOptions): Promise<Blob | null> {
  const cached = await opts.cache?.match(url);
  if (cached) {
    const blob = await cached.blob();
    opts.onProgress?.({ file, status: 'cached', loaded: blob.size, total: blob.size });
    return blob;
  }
  opts.onProgress?.({ file, status: 'initiate', loaded: 0, total: null });
  let res: Response;
  try {
    res = await (opts.fetchFn ?? fetch)(url);
  } catch (e) {
    throw new Error(`Downloading ${url} failed: ${e instanceof Error ? e.message : String(e)} (offline, or the server refuses cross-origin requests)`, { cause: e });
  }
  if (res.status === 404) {
    opts.onProgress?.({ file, status: 'missing', loaded: 0, total: null });
    return null;
  }
  if (res.status === 401 || res.status === 403) throw new Error(`Downloading ${url} was refused (HTTP ${res.status}): the model may be gated or private`);
  if (!res.ok) throw new Error(`Downloading ${url} failed: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length')) || null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  if (res.body) {
    const reader = res.body.getReader();
    let last = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      if (loaded - last > 1 << 20) {
        last = loaded;
        opts.onProgress?.({ file, status: 'progress', loaded, total });
      }
    }
  } else {
    const buf = new Uint8Array(await res.arrayBuffer());
    chunks.push(buf);
    loaded = buf.byteLength;
  }
  if (total !== null && loaded !== total) throw new Error(`Downloading ${url}: got ${loaded} of ${total} bytes (connection cut)`);
  const blob = new Blob(chunks as BlobPart[]);
  opts.onProgress?.({ file, status: 'done', loaded, total: loaded });
  if (opts.cache) {
    try {
      await opts.cache.put(url, new Response(blob, { headers: { 'content-length': String(blob.size) } }));
    } catch (e) {
      // A full or unavailable cache never fails the load.
      opts.onProgress?.({ file, status: 'uncached', loaded, total: loaded, message: `${file} was not kept in the browser's cache (${e instanceof Error ? e.message : String(e)})` });
    }
  }
  return blob;
}

/** Files under a URL prefix (a folder served over HTTP); weights by range requests, or cached (hub). */
export function filesFromUrl(baseUrl: string, opts: FetchOptions = {}): ModelFiles {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return {
    label: base,
    open: (name) => download(base + name, name, opts),
    openRange: (name) => (opts.cache ? cachedSource(base + name, name, opts) : rangedOrDownload(base + name, name, opts)),
  };
}

function fetchError(url: string, e: unknown): Error {
  return new Error(`Downloading ${url} failed: ${e instanceof Error ? e.message : String(e)} (offline, or the server refuses cross-origin requests)`, { cause: e });
}

function checkStatus(url: string, res: Response): void {
  if (res.status === 401 || res.status === 403) throw new Error(`Downloading ${url} was refused (HTTP ${res.status}): the model may be gated or private`);
  if (!res.ok) throw new Error(`Downloading ${url} failed: HTTP ${res.status} ${res.statusText}`);
}

/**
 * A file read with HTTP range requests (one request per tensor, so host memory holds about one
 * tensor); 'no-range' when the server answers a range request with the whole file; null: 404.
 */
async function rangedSource(url: string, file: string, opts: FetchOptions): Promise<ByteSource | 'no-range' | null> {
  const f = opts.fetchFn ?? fetch;
  let res: Response;
  try {
    res = await f(url, { headers: { Range: 'bytes=0-7' } });
  } catch (e) {
    throw fetchError(url, e);
  }
  if (res.status === 404) {
    opts.onProgress?.({ file, status: 'missing', loaded: 0, total: null });
    return null;
  }
  checkStatus(url, res);
  const size = Number(/\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN);
  if (res.status !== 206 || !Number.isSafeInteger(size)) {
    await res.body?.cancel();
    return 'no-range';
  }
  const head = new Uint8Array(await res.arrayBuffer());
  let loaded = head.byteLength;
  opts.onProgress?.({ file, status: 'initiate', loaded, total: size });
  return {
    size,
    async read(b, e) {
      if (e <= b) return new Uint8Array(0);
      if (e <= head.byteLength) return head.slice(b, e);
      let r: Response;
      try {
        r = await f(url, { headers: { Range: `bytes=${b}-${e - 1}` } });
      } catch (err) {
        throw fetchError(url, err);
      }
      checkStatus(url, r);
      if (r.status !== 206) throw new Error(`Downloading ${url}: the server stopped honouring range requests (HTTP ${r.status})`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (bytes.byteLength !== e - b) throw new Error(`Downloading ${url}: bytes ${b}-${e - 1}: got ${bytes.byteLength} of ${e - b} (connection cut)`);
      loaded += bytes.byteLength;
      opts.onProgress?.({ file, status: loaded >= size ? 'done' : 'progress', loaded, total: size });
      return bytes;
    },
  };
}

/** Range requests where the server supports them, else the whole file (a server without ranges). */
async function rangedOrDownload(url: string, file: string, opts: FetchOptions): Promise<ByteSource | null> {
  const r = await rangedSource(url, file, opts);
  if (r !== 'no-range') return r;
  const blob = await download(url, file, { ...opts, cache: null });
  return blob ? blobSource(blob) : null;
}

/**
 * A file kept in the Cache API: read back from it when present; otherwise streamed into it (the
 * body goes to disk, counted for progress, never collected in memory) and read back in slices.
 * A failed cache write never fails the load: the file is read by ranges, and the progress
 * event says why it was not cached.
 */
async function cachedSource(url: string, file: string, opts: FetchOptions): Promise<ByteSource | null> {
  const cache = opts.cache!;
  try {
    const hit = await cache.match(url);
    if (hit) {
      const blob = await hit.blob();
      opts.onProgress?.({ file, status: 'cached', loaded: blob.size, total: blob.size });
      return blobSource(blob);
    }
  } catch {
    // An unreadable cache entry is downloaded again.
  }
  opts.onProgress?.({ file, status: 'initiate', loaded: 0, total: null });
  let res: Response;
  try {
    res = await (opts.fetchFn ?? fetch)(url);
  } catch (e) {
    throw fetchError(url, e);
  }
  if (res.status === 404) {
    opts.onProgress?.({ file, status: 'missing', loaded: 0, total: null });
    return null;
  }
  checkStatus(url, res);
  const total = Number(res.headers.get('content-length')) || null;
  let loaded = 0, last = 0;
  const counted = res.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        loaded += chunk.byteLength;
        if (loaded - last > 1 << 22) {
          last = loaded;
          opts.onProgress?.({ file, status: 'progress', loaded, total });
        }
        ctl.enqueue(chunk);
      },
    }),
  );
  let why: string;
  try {
    await cache.put(url, new Response(counted, { headers: total ? { 'content-length': String(total) } : {} }));
    const blob = await (await cache.match(url))?.blob();
    if (blob && (total === null || blob.size === total)) {
      opts.onProgress?.({ file, status: 'done', loaded: blob.size, total: blob.size });
      return blobSource(blob);
    }
    why = blob ? `the cached copy holds ${blob.size} of ${total} bytes` : 'the cached copy could not be read back';
    await cache.delete(url).catch(() => false);
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
    await cache.delete(url).catch(() => false);
  }
  opts.onProgress?.({ file, status: 'uncached', loaded: 0, total, message: `${file} was not kept in the browser's cache (${why}); loading it from the network without caching. Allow persistent storage or free space to cache models.` });
  return rangedOrDownload(url, file, opts);
}

export interface HubOptions extends FetchOptions {
  revision?: string;
  /** Defaults to https://huggingface.co; tests point it at a local server with the same layout. */
  hubUrl?: string;
}

const REPO_ID = /^[\w.-]+(\/[\w.-]+)?$/;

/** A Hugging Face model id such as "HuggingFaceTB/SmolLM2-135M". */
export function filesFromHub(repo: string, opts: HubOptions = {}): ModelFiles {
  if (!REPO_ID.test(repo)) throw new Error(`"${repo}" is not a Hugging Face model id (expected owner/name, e.g. HuggingFaceTB/SmolLM2-135M)`);
  const hub = (opts.hubUrl ?? 'https://huggingface.co').replace(/\/$/, '');
  const revision = opts.revision ?? 'main';
  const inner = filesFromUrl(`${hub}/${repo}/resolve/${encodeURIComponent(revision)}/`, opts);
  return { ...inner, label: `${repo}@${revision} on ${hub}` };
}

/** The browser's Cache API bucket for model files, or null where there is none. */
export async function modelCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open('mor1e-models-v1');
  } catch {
    return null;
  }
}
