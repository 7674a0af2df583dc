// Where a model's files come from: a local folder or file selection (File objects, read
// lazily), a URL prefix, or a Hugging Face model id fetched from /{repo}/resolve/{revision}/
// with progress per file and kept in the Cache API so that a reload does not download again.

export interface FileProgress {
  file: string;
  /** 'missing': the source has no such file (optional files such as a shard index). */
  status: 'initiate' | 'progress' | 'done' | 'cached' | 'missing';
  loaded: number;
  total: number | null;
}

export type ProgressFn = (p: FileProgress) => void;

export interface ModelFiles {
  /** Where the files come from, for messages: "folder tiny-gpt2", "https://…/", "hub gpt2@main". */
  label: string;
  /** The file's contents, or null when the source has no such file. */
  open(name: string): Promise<Blob | null>;
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
  if (opts.cache) await opts.cache.put(url, new Response(blob, { headers: { 'content-length': String(blob.size) } }));
  return blob;
}

/** Files under a URL prefix (a folder served over HTTP). */
export function filesFromUrl(baseUrl: string, opts: FetchOptions = {}): ModelFiles {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return { label: base, open: (name) => download(base + name, name, opts) };
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
  return { label: `${repo}@${revision} on ${hub}`, open: inner.open };
}

/** The browser's Cache API bucket for model files, or null where there is none. */
export async function modelCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open('mor1e-models-v1');
  } catch {
    return null;
  }
}
