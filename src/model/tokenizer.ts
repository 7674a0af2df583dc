// Text ↔ token ids through @huggingface/tokenizers (tokenizer.json: byte-level BPE of GPT-2,
// SmolLM, Qwen; SentencePiece-style BPE of Llama / TinyLlama), special tokens from
// tokenizer_config.json, and chat prompts through @huggingface/jinja: the model's own
// chat_template when it has one, else a plain instruction template for base models.
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { FastBpe } from './fastBpe.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Used for base models without a chat_template (Alpaca-style). */
export const PLAIN_INSTRUCTION_TEMPLATE =
  "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] + '\\n\\n' }}" +
  "{% elif m['role'] == 'user' %}{{ '### Instruction:\\n' + m['content'] + '\\n\\n' }}" +
  "{% else %}{{ '### Response:\\n' + m['content'] + eos_token + '\\n\\n' }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}";

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

type Json = Record<string, unknown>;

function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly template: Template;
  readonly hasChatTemplate: boolean;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly eosId: number | null;
  readonly vocabSize: number;
  /** The fast encoder (src/model/fastBpe.ts) while it agrees with the library; null: the library encodes. */
  private fast: FastBpe | null = null;
  /** Ids the post-processor puts around a text (e.g. Llama's <s>). */
  private special: { prefix: number[]; suffix: number[] } | null = null;
  private calls = 0;

  constructor(tokenizerJson: unknown, tokenizerConfig: unknown = {}) {
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null) throw new TokenizerError('tokenizer.json is not a JSON object');
    const model = (tokenizerJson as Json).model as Json | undefined;
    if (!model || typeof model.type !== 'string') throw new TokenizerError('tokenizer.json has no "model" with a "type"');
    const cfg = (tokenizerConfig ?? {}) as Json;
    try {
      this.tok = new Tokenizer(tokenizerJson, cfg);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.bosToken = tokenText(cfg.bos_token);
    this.eosToken = tokenText(cfg.eos_token);
    this.eosId = this.eosToken ? (this.tok.token_to_id(this.eosToken) ?? null) : null;
    const vocab = model.vocab;
    const added = ((tokenizerJson as Json).added_tokens as Json[] | undefined) ?? [];
    const ids = [...(Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values((vocab ?? {}) as Record<string, number>)), ...added.map((t) => t.id as number)];
    this.vocabSize = ids.length ? Math.max(...ids) + 1 : 0;
    this.startFastPath(tokenizerJson, cfg);
    const chat = cfg.chat_template;
    const source = typeof chat === 'string' ? chat : Array.isArray(chat) ? ((chat.find((c: Json) => c.name === 'default') as Json | undefined)?.template as string | undefined) : undefined;
    this.hasChatTemplate = typeof source === 'string';
    try {
      this.template = new Template(source ?? PLAIN_INSTRUCTION_TEMPLATE);
    } catch (e) {
      throw new TokenizerError(`tokenizer_config.json: chat_template does not parse: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Token ids of `text`; special tokens (e.g. Llama's <s>) added as the tokenizer's post-processor says. */
  encode(text: string, addSpecialTokens = true): number[] {
    const fast = this.fast;
    if (!fast) return this.libraryEncode(text, addSpecialTokens);
    const core = fast.encode(text);
    const ids = addSpecialTokens ? [...this.special!.prefix, ...core, ...this.special!.suffix] : core;
    // Keep checking against the library: every call at first, then one in 500.
    this.calls++;
    if (this.calls <= 64 || this.calls % 500 === 0) {
      const ref = this.libraryEncode(text, addSpecialTokens);
      if (!sameIds(ids, ref)) {
        this.fast = null;
        console.warn(`tokenizer: the fast BPE path disagreed with @huggingface/tokenizers on ${JSON.stringify(text.slice(0, 80))}; using the library from now on`);
        return ref;
      }
    }
    return ids;
  }

  /** Whether the fast BPE path is in use (it turns itself off at the first disagreement with the library). */
  get fastPath(): boolean {
    return this.fast !== null;
  }

  private libraryEncode(text: string, addSpecialTokens: boolean): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /** Builds the fast encoder when the layout allows and it matches the library on probe strings. */
  private startFastPath(tokenizerJson: unknown, cfg: Json): void {
    const fast = FastBpe.build(tokenizerJson, cfg);
    if (!fast) return;
    const probe = 'a';
    const plain = this.libraryEncode(probe, false);
    const withSpecial = this.libraryEncode(probe, true);
    const at = findSub(withSpecial, plain);
    if (at < 0) return;
    this.special = { prefix: withSpecial.slice(0, at), suffix: withSpecial.slice(at + plain.length) };
    for (const text of PROBES) {
      const core = fast.encode(text);
      if (!sameIds(core, this.libraryEncode(text, false))) return;
      if (!sameIds([...this.special.prefix, ...core, ...this.special.suffix], this.libraryEncode(text, true))) return;
    }
    this.fast = fast;
  }

  /**
   * Token ids with special tokens, at most `maxLength` of them: the text's tokens are cut so that
   * the post-processor's prefix and suffix (BERT's [CLS] … [SEP]) stay, as HF's truncation does.
   */
  encodeTruncated(text: string, maxLength: number): number[] {
    const full = this.encode(text, true);
    if (full.length <= maxLength) return full;
    const inner = this.encode(text, false);
    const p = findSub(full, inner);
    if (p < 0) return full.slice(0, maxLength); // the post-processor rewrote the tokens: plain cut
    const prefix = full.slice(0, p), suffix = full.slice(p + inner.length);
    const keep = maxLength - prefix.length - suffix.length;
    if (keep < 0) throw new RangeError(`encodeTruncated: ${maxLength} tokens cannot hold the ${prefix.length + suffix.length} special tokens`);
    return [...prefix, ...inner.slice(0, keep), ...suffix];
  }

  decode(ids: number[], skipSpecialTokens = false): string {
    if (!ids.length) return ''; // the library refuses an empty list
    return this.tok.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** The prompt text for a conversation (the model's chat template, or the plain instruction one). */
  chatPrompt(messages: ChatMessage[], addGenerationPrompt = true): string {
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
    });
  }
}

const PROBES = [
  'Hello, world! It\'s 2024: 3.14 × 10 = 31.4\n\n### Response:\n',
  '  leading and trailing spaces  ',
  'tabs\tand\r\nCRLF lines\n\n\nmany newlines',
  'Ünïcödé — ça va? 日本語のテキスト 😀👍🏽',
  "don't WON'T we'll they'RE I'd",
  'reverse: koob → book; 12345678 + 98765 = 108111',
  '<s>a</s> <|endoftext|> <|im_start|>user\nhi<|im_end|>\n',
  'a'.repeat(300) + ' ' + 'ab '.repeat(100),
];

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function findSub(hay: number[], needle: number[]): number {
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((x, j) => hay[i + j] === x)) return i;
  return -1;
}
