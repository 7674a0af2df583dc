// A hand-written safetensors reader and writer. The reader validates the format's own rules
// (header length inside the file and under 100 MB, valid JSON, known dtypes, integer shapes,
// offsets contiguous from 0 and non-overlapping, each byte size equal to its shape's, the data
// section ending exactly at the file's end) and names the file and tensor in every error.
// Tensors of a known dtype the engine cannot use (e.g. the int64 position_ids buffer that BERT
// checkpoints of transformers 3.1 - 4.30 carry) are listed apart, in `others`: a model that
// needs one is refused when it is opened, one that does not ignores it. The reader works
// lazily: the header first, then one tensor's slice at a time from a ByteSource (a Blob / File,
// or HTTP range requests), so a model file is never held in memory whole.
import { DTYPE_BYTES, type DType } from './dtype.ts';

export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

/** A tensor of a valid safetensors dtype that cannot be converted to f32 here (I64, F64, …). */
export interface OtherTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

/** Random access to a file's bytes: a Blob's slices, or HTTP range requests (src/model/sources.ts). */
export interface ByteSource {
  size: number;
  /** Bytes [begin, end). */
  read(begin: number, end: number): Promise<Uint8Array>;
}

/** A Blob (a File, a Cache API body, bytes in memory) as a ByteSource. */
export function blobSource(blob: Blob): ByteSource {
  return { size: blob.size, read: async (b, e) => new Uint8Array(await blob.slice(b, e).arrayBuffer()) };
}

export interface SafetensorsFile {
  fileName: string;
  source: ByteSource;
  tensors: Map<string, TensorInfo>;
  /** Tensors of other dtypes: validated, never read. */
  others: Map<string, OtherTensorInfo>;
  metadata: Record<string, string>;
}

const KNOWN: readonly string[] = ['F32', 'F16', 'BF16'];
const OTHER_BYTES: Record<string, number> = { F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };

/** Parses and validates the header of a safetensors file; tensor bytes stay unread. */
export async function readSafetensorsHeader(file: Blob | ByteSource, fileName: string): Promise<SafetensorsFile> {
  const source = file instanceof Blob ? blobSource(file) : file;
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${fileName}: ${msg}`);
  };
  const size = source.size;
  if (size < 8) fail(`file is ${size} bytes, too short for a safetensors header`);
  const first = await source.read(0, 8);
  const lenBytes = new DataView(first.buffer, first.byteOffset, 8);
  const headerLen = Number(lenBytes.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds the 100 MB limit (corrupted or not a safetensors file)`);
  if (8 + headerLen > size) fail(`header length ${headerLen} runs past the end of the file (${size} bytes): truncated or corrupted`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  const others = new Map<string, OtherTensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Object.values(raw).some((v) => typeof v !== 'string')) fail('__metadata__ must map strings to strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`tensor "${name}": entry is not an object`);
    if (typeof t.dtype !== 'string') fail(`tensor "${name}": missing dtype`);
    const dtype = t.dtype as string;
    if (!KNOWN.includes(dtype) && !(dtype in OTHER_BYTES)) fail(`tensor "${name}": unknown dtype "${dtype}"`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`tensor "${name}": shape must be a list of non-negative integers`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => !Number.isSafeInteger(d) || d < 0) || off[0] > off[1]) {
      fail(`tensor "${name}": data_offsets must be [begin, end] with 0 ≤ begin ≤ end`);
    }
    const [b, e] = off as [number, number];
    const shape = t.shape as number[];
    const expected = shape.reduce((a, d) => a * d, 1) * (KNOWN.includes(dtype) ? DTYPE_BYTES[dtype as DType] : OTHER_BYTES[dtype]);
    if (e - b !== expected) fail(`tensor "${name}": ${e - b} bytes stored but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`);
    if (e > dataLen) fail(`tensor "${name}": data [${b}, ${e}) runs past the end of the data section (${dataLen} bytes): truncated file`);
    ranges.push([b, e, name]);
    if (KNOWN.includes(dtype)) tensors.set(name, { name, dtype: dtype as DType, shape, begin: dataStart + b, end: dataStart + e });
    else others.set(name, { name, dtype, shape });
  }
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let pos = 0;
  for (const [b, e, name] of ranges) {
    if (b < pos) fail(`tensor "${name}": data [${b}, ${e}) overlaps the previous tensor`);
    if (b > pos) fail(`tensor "${name}": data starts at ${b} but the previous tensor ends at ${pos} (offsets must be contiguous)`);
    pos = e;
  }
  if (pos !== dataLen) fail(`data section is ${dataLen} bytes but the tensors cover ${pos}: ${dataLen > pos ? 'trailing bytes' : 'truncated file'}`);
  return { fileName, source, tensors, others, metadata };
}

/** The raw little-endian bytes of one tensor (one slice read). */
export async function readTensorBytes(file: SafetensorsFile, name: string): Promise<Uint8Array> {
  const t = file.tensors.get(name);
  if (!t) throw new SafetensorsError(`${file.fileName}: no tensor "${name}"`);
  const bytes = await file.source.read(t.begin, t.end);
  if (bytes.byteLength !== t.end - t.begin) throw new SafetensorsError(`${file.fileName}: tensor "${name}": read ${bytes.byteLength} of ${t.end - t.begin} bytes (the file changed or the connection was cut)`);
  return bytes;
}

export interface TensorToWrite {
  dtype: DType;
  shape: number[];
  /** Little-endian bytes of the tensor (length = product(shape) · dtype size). */
  data: Uint8Array;
}

/** Serialises tensors (in the given order) with an 8-byte-aligned header; metadata format = pt. */
export function writeSafetensors(tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const need = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== need) throw new SafetensorsError(`writeSafetensors: tensor "${name}" has ${t.data.byteLength} bytes, shape needs ${need}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + need] };
    offset += need;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((new TextEncoder().encode(json).byteLength) % 8)) % 8;
  json += ' '.repeat(pad);
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.byteLength), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.byteLength;
  for (const t of Object.values(tensors)) {
    out.set(t.data, pos);
    pos += t.data.byteLength;
  }
  return out;
}
