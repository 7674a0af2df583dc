// Text ↔ token ids through @huggingface/tokenizers (tokenizer.json: byte-level BPE of GPT-2,
// SmolLM, Qwen; SentencePiece-style BPE of Llama / TinyLlama), special tokens from
// tokenizer_config.json, and chat prompts through @huggingface/jinja: the model's own
// chat_template when it has one, else a plain instruction template for base models.
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';

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
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: number[], skipSpecialTokens = false): string {
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
