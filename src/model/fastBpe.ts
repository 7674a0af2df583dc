// A fast encoder for the BPE tokenizer.json layouts that causal LMs use (GPT-2 / SmolLM2 /
// Qwen2.5 / Llama-3 byte-level BPE; Llama-2 / TinyLlama SentencePiece-style BPE with byte
// fallback), for datasets of many rows: words are cached, merges are looked up by integer pair
// keys, and long SentencePiece sections are cut where no vocabulary token can span the cut.
// @huggingface/tokenizers stays the reference: `FastBpe.build` returns null for any layout it
// does not cover exactly, and TextTokenizer checks it against the library on probe strings (and
// the dataset pipeline on real rows) before using it.

type Json = Record<string, unknown>;

/** GPT-2's byte → printable character table (bytes_to_unicode). */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  return table;
}
const BYTE_CHARS = bytesToUnicode();
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const SPM_SPACE = '\u2581';
const SPM_CODE = 0x2581;

/** A tokenizer.json Split regex as a JS RegExp (inline `(?i:…)` groups of letters expanded). */
function splitRegex(source: string): RegExp | null {
  try {
    return new RegExp(source, 'gu');
  } catch {
    const expanded = source.replace(/\(\?i:([^()]*)\)/g, (_, body: string) => `(?:${body.replace(/[a-zA-Z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`)})`);
    try {
      return new RegExp(expanded, 'gu');
    } catch {
      return null;
    }
  }
}

type Normalize = (s: string) => string;

function normalizer(cfg: Json | null): Normalize | null {
  if (!cfg) return (s) => s;
  switch (cfg.type) {
    case 'NFC':
    case 'NFKC':
    case 'NFD':
    case 'NFKD': {
      const form = cfg.type as string;
      return (s) => s.normalize(form);
    }
    case 'Prepend': {
      const p = String(cfg.prepend);
      return (s) => p + s;
    }
    case 'Replace': {
      const pat = cfg.pattern as Json;
      if (typeof pat?.String !== 'string') return null;
      const from = pat.String, to = String(cfg.content);
      return (s) => s.replaceAll(from, to);
    }
    case 'Sequence': {
      const parts = (cfg.normalizers as Json[]).map(normalizer);
      if (parts.some((p) => !p)) return null;
      return (s) => parts.reduce((acc, f) => f!(acc), s);
    }
    default:
      return null;
  }
}

function byteLevel(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) out += BYTE_CHARS[b];
  return out;
}

/**
 * A pre-tokenizer as two steps: `split` cuts a section into words, `map` turns a word into BPE
 * symbols (byte-level characters). Words are cached before `map`, so a repeated word costs one
 * lookup.
 */
interface PreTokenize {
  split: (s: string, sectionIndex: number) => string[];
  map: (word: string) => string;
}

const identity = (w: string) => w;

function preTokenizer(cfg: Json | null): PreTokenize | null {
  if (!cfg) return { split: (s) => [s], map: identity };
  switch (cfg.type) {
    case 'ByteLevel': {
      const prefix = cfg.add_prefix_space === true, regex = cfg.use_regex !== false;
      return {
        split: (s) => {
          const t = prefix && !s.startsWith(' ') ? ` ${s}` : s;
          return regex ? (t.match(GPT2_PATTERN) ?? []) : [t];
        },
        map: byteLevel,
      };
    }
    case 'Metaspace': {
      const rep = String(cfg.replacement ?? SPM_SPACE), scheme = String(cfg.prepend_scheme ?? 'always');
      if (cfg.str_rep !== undefined && cfg.str_rep !== rep) return null;
      return {
        split: (s, section) => {
          let t = s.replaceAll(' ', rep);
          if (!t.startsWith(rep) && (scheme === 'always' || (scheme === 'first' && section === 0))) t = rep + t;
          return [t];
        },
        map: identity,
      };
    }
    case 'Split': {
      const pat = cfg.pattern as Json;
      if (cfg.behavior !== 'Isolated' || cfg.invert === true || typeof pat?.Regex !== 'string') return null;
      const re = splitRegex(pat.Regex);
      if (!re) return null;
      // Isolated: matches and the text between them are all pieces.
      return {
        split: (s) => {
          const out: string[] = [];
          let at = 0;
          for (const m of s.matchAll(re)) {
            if (m.index! > at) out.push(s.slice(at, m.index));
            if (m[0]) out.push(m[0]);
            at = m.index! + m[0].length;
          }
          if (at < s.length) out.push(s.slice(at));
          return out;
        },
        map: identity,
      };
    }
    case 'Sequence': {
      const parts = (cfg.pretokenizers as Json[]).map(preTokenizer);
      if (parts.some((p) => !p)) return null;
      // Mapping steps (byte-level) must come after every splitting step.
      const mapping = parts.findIndex((p) => p!.map !== identity);
      if (mapping >= 0 && parts.slice(mapping + 1).length) return null;
      return {
        split: (s, section) => parts.reduce<string[]>((words, f) => words.flatMap((w) => f!.split(w, section)), [s]),
        map: mapping >= 0 ? parts[mapping]!.map : identity,
      };
    }
    default:
      return null;
  }
}

interface AddedToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
}

export class FastBpe {
  private readonly vocab = new Map<string, number>();
  /** (left id · V + right id) → merge rank and the merged token's id. */
  private readonly merges = new Map<number, { rank: number; id: number }>();
  private readonly V: number;
  private readonly cache = new Map<string, number[]>();
  private readonly added: AddedToken[];
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedPattern: RegExp | null;

  private constructor(
    model: Json,
    added: AddedToken[],
    private readonly normalize: Normalize,
    private readonly preTokenize: PreTokenize,
    private readonly byteFallback: boolean,
    private readonly ignoreMerges: boolean,
    private readonly unkId: number | null,
    private readonly fuseUnk: boolean,
    /** SentencePiece sections may be cut before a ▁ that follows another character. */
    private readonly spmCut: boolean,
  ) {
    const vocab = model.vocab as Record<string, number>;
    let maxId = 0;
    for (const [t, id] of Object.entries(vocab)) {
      this.vocab.set(t, id);
      maxId = Math.max(maxId, id);
    }
    for (const a of added) {
      this.vocab.set(a.content, a.id);
      maxId = Math.max(maxId, a.id);
    }
    this.V = maxId + 1;
    const merges = model.merges as Array<string | [string, string]>;
    merges.forEach((m, rank) => {
      const [l, r] = typeof m === 'string' ? splitMerge(m) : m;
      const a = this.vocab.get(l), b = this.vocab.get(r), id = this.vocab.get(l + r);
      if (a === undefined || b === undefined || id === undefined) return;
      const key = a * this.V + b;
      if (!this.merges.has(key)) this.merges.set(key, { rank, id });
    });
    // Longest added tokens first, so a scan finds the longest match at each position.
    this.added = added.filter((a) => a.content).sort((x, y) => y.content.length - x.content.length);
    for (const a of this.added) this.addedByContent.set(a.content, a);
    this.addedPattern = this.added.length ? new RegExp(this.added.map((a) => a.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;
  }

  /** The fast encoder for this tokenizer.json, or null when its layout is not one this covers exactly. */
  static build(tokenizerJson: unknown, tokenizerConfig: unknown = {}): FastBpe | null {
    const tj = tokenizerJson as Json;
    const cfg = (tokenizerConfig ?? {}) as Json;
    const model = tj?.model as Json | undefined;
    if (!model || model.type !== 'BPE' || !model.vocab || Array.isArray(model.vocab) || !Array.isArray(model.merges)) return null;
    if (model.continuing_subword_prefix || model.end_of_word_suffix || model.dropout) return null;
    if (cfg.remove_space || cfg.do_lowercase_and_remove_accent) return null;
    const norm = normalizer((tj.normalizer as Json | null) ?? null);
    const pre = preTokenizer((tj.pre_tokenizer as Json | null) ?? null);
    if (!norm || !pre) return null;
    const addedJson = ((tj.added_tokens as Json[] | undefined) ?? []);
    // Added tokens matched after normalisation would need the library's second splitting pass.
    if (tj.normalizer && addedJson.some((a) => a.normalized === true)) return null;
    const added = addedJson.map((a) => ({ content: String(a.content), id: Number(a.id), lstrip: a.lstrip === true, rstrip: a.rstrip === true }));
    const vocab = model.vocab as Record<string, number>;
    const unk = typeof model.unk_token === 'string' ? (vocab[model.unk_token] ?? null) : null;
    // No token may hold a ▁ right after another character for the SentencePiece cut to be exact.
    const spm = Object.keys(vocab).some((t) => t.includes(SPM_SPACE));
    const spmCut = spm && !Object.keys(vocab).some((t) => /[^\u2581]\u2581/.test(t));
    return new FastBpe(model, added, norm, pre, model.byte_fallback === true, model.ignore_merges === true, unk, model.fuse_unk === true, spmCut);
  }

  /** Token ids of `text`, without the post-processor's special tokens. */
  encode(text: string): number[] {
    const out: number[] = [];
    this.splitAdded(text).forEach((part, i) => {
      if (part.added) {
        out.push(part.added.id);
        return;
      }
      if (!part.text) return;
      const normalized = this.normalize(part.text);
      if (!normalized) return;
      for (const word of this.preTokenize.split(normalized, i)) this.encodeWord(word, out);
    });
    return out;
  }

  /** Text split around added tokens (longest match at each position), with their lstrip/rstrip. */
  private splitAdded(text: string): Array<{ text: string; added: AddedToken | null }> {
    if (!this.added.length) return [{ text, added: null }];
    const parts: Array<{ text: string; added: AddedToken | null }> = [];
    let start = 0;
    // Alternatives longest first: at the leftmost position that matches, the longest token wins.
    for (const m of text.matchAll(this.addedPattern!)) {
      if (m.index! > start) parts.push({ text: text.slice(start, m.index), added: null });
      parts.push({ text: m[0], added: this.addedByContent.get(m[0])! });
      start = m.index! + m[0].length;
    }
    if (start < text.length) parts.push({ text: text.slice(start), added: null });
    parts.forEach((p, k) => {
      if (!p.added) return;
      const prev = parts[k - 1], next = parts[k + 1];
      if (p.added.lstrip && prev && !prev.added) prev.text = prev.text.trimEnd();
      if (p.added.rstrip && next && !next.added) next.text = next.text.trimStart();
    });
    return parts;
  }

  private encodeWord(word: string, out: number[]): void {
    if (this.spmCut && word.length > 16) {
      // Cut before every ▁ that follows another character: no token spans such a cut.
      let start = 0;
      for (let i = 1; i < word.length; i++) {
        if (word.charCodeAt(i) === SPM_CODE && word.charCodeAt(i - 1) !== SPM_CODE) {
          this.encodePiece(word.slice(start, i), out);
          start = i;
        }
      }
      this.encodePiece(word.slice(start), out);
    } else this.encodePiece(word, out);
  }

  private encodePiece(piece: string, out: number[]): void {
    let ids = this.cache.get(piece);
    if (!ids) {
      ids = this.bpe(this.preTokenize.map(piece));
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(piece, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** BPE of one piece: repeatedly merge the adjacent pair of lowest rank (leftmost first). */
  private bpe(piece: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(piece);
      if (whole !== undefined) return [whole];
    }
    const chars = Array.from(piece);
    // Symbols: vocabulary ids, or −1 for a character outside the vocabulary (never merged).
    let syms = chars.map((c) => this.vocab.get(c) ?? -1);
    for (;;) {
      let best = -1, bestRank = Infinity, bestId = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] < 0 || syms[i + 1] < 0) continue;
        const m = this.merges.get(syms[i] * this.V + syms[i + 1]);
        if (m && m.rank < bestRank) {
          bestRank = m.rank;
          best = i;
          bestId = m.id;
        }
      }
      if (best < 0) break;
      syms = [...syms.slice(0, best), bestId, ...syms.slice(best + 2)];
      // Track the characters behind each symbol for the byte fallback of unknown ones.
      chars.splice(best, 2, chars[best] + chars[best + 1]);
    }
    const ids: number[] = [];
    let lastUnk = false;
    syms.forEach((id, i) => {
      if (id >= 0) {
        ids.push(id);
        lastUnk = false;
        return;
      }
      if (this.byteFallback) {
        const bytes = Array.from(new TextEncoder().encode(chars[i]), (b) => this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1);
        if (!bytes.some((b) => b < 0)) {
          for (const b of bytes) ids.push(b);
          lastUnk = false;
          return;
        }
      }
      if (this.unkId === null) throw new Error(`fast BPE: "${chars[i]}" is not in the vocabulary and there is no unk token`);
      if (!(this.fuseUnk && lastUnk)) ids.push(this.unkId);
      lastUnk = true;
    });
    return ids;
  }
}

/** "a b" → ["a", "b"] (a merge's two halves; a token may itself be a space in byte-level vocabularies only as Ġ). */
function splitMerge(m: string): [string, string] {
  const i = m.indexOf(' ', 1);
  return [m.slice(0, i), m.slice(i + 1)];
}
