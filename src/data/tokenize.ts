// Examples → token ids with a loss flag per token. Chat rows go through the model's chat template
// when it has one, instruction rows too ('auto'); otherwise the plain instruction template
// (src/model/tokenizer.ts PLAIN_INSTRUCTION_TEMPLATE). The loss falls on answer tokens only (every
// assistant turn of a conversation; every token of a text row), an EOS follows the answer, and a
// row longer than the limit loses the start of its prompt first, so the answer stays.
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { Example } from './types.ts';

export interface Tokenized {
  ids: number[];
  /** 1 where the token is predicted in the loss (answer tokens and the EOS). */
  loss: number[];
  /** Index of the first loss token. */
  answerStart: number;
}

export interface TokenizeContext {
  tok: TextTokenizer;
  eosId: number | null;
  /** Ids the tokenizer puts before any text (e.g. Llama's <s>), kept when a prompt is cut. */
  prefix: number[];
  useChatTemplate: boolean;
  /** The plain template's prompt around the instruction (null: render per row). */
  wrap: { before: string; after: string } | null;
}

export function tokenizeContext(tok: TextTokenizer, eosId: number | null, template: 'auto' | 'plain' = 'auto'): TokenizeContext {
  return { tok, eosId, prefix: tok.encode('', true), useChatTemplate: template === 'auto' && tok.hasChatTemplate, wrap: promptWrapper(tok) };
}

/**
 * The plain template's prompt as text around the instruction, found once by rendering a
 * sentinel (a template renders per row at ~40k rows/s; a concatenation is free). Null when the
 * template does not insert the content verbatim exactly once.
 */
function promptWrapper(tok: TextTokenizer): { before: string; after: string } | null {
  const sentinel = '\u0000MOR1E-PROMPT\u0000';
  const text = tok.chatPrompt([{ role: 'user', content: sentinel }], true);
  const at = text.indexOf(sentinel);
  if (at < 0 || text.indexOf(sentinel, at + 1) >= 0) return null;
  const wrap = { before: text.slice(0, at), after: text.slice(at + sentinel.length) };
  const probe = 'What is 2 + 2?\n  Answer:\n';
  return tok.chatPrompt([{ role: 'user', content: probe }], true) === wrap.before + probe + wrap.after ? wrap : null;
}

/** Renders a conversation and marks the characters of each assistant turn (the loss spans). */
function chatSegments(ctx: TokenizeContext, ex: Example): Array<{ text: string; loss: boolean }> {
  const msgs = ex.messages!;
  const render = (n: number, gen: boolean) => ctx.tok.chatPrompt(msgs.slice(0, n), gen);
  const full = render(msgs.length, false);
  const segs: Array<{ text: string; loss: boolean }> = [];
  let at = 0;
  for (let i = 0; i < msgs.length; i++) {
    if (msgs[i].role !== 'assistant') continue;
    const pre = render(i, true);
    const post = render(i + 1, false);
    if (!post.startsWith(pre) || !full.startsWith(post) || pre.length < at) {
      // A template that rewrites earlier turns: learn the last answer only.
      const last = msgs.map((m) => m.role).lastIndexOf('assistant');
      const p = render(last, true);
      return [{ text: p, loss: false }, { text: msgs[last].content, loss: true }];
    }
    segs.push({ text: full.slice(at, pre.length), loss: false }, { text: full.slice(pre.length, post.length), loss: true });
    at = post.length;
  }
  return segs;
}

/** Token ids and loss flags of one example, before any length limit. */
export function tokenizeExample(ctx: TokenizeContext, ex: Example): Tokenized {
  const { tok } = ctx;
  let segs: Array<{ text: string; loss: boolean }>;
  let prefix: number[] = ctx.prefix;
  if (ex.kind === 'text') segs = [{ text: ex.answer, loss: true }];
  else if (ex.kind === 'chat' || ctx.useChatTemplate) {
    const msgs = ex.messages ?? [{ role: 'user' as const, content: ex.prompt }, { role: 'assistant' as const, content: ex.answer }];
    segs = chatSegments(ctx, { ...ex, messages: msgs });
    // A chat template writes its own special tokens (bos_token) when it wants them.
    if (ctx.useChatTemplate) prefix = [];
  } else {
    const prompt = ctx.wrap ? ctx.wrap.before + ex.prompt + ctx.wrap.after : tok.chatPrompt([{ role: 'user', content: ex.prompt }], true);
    segs = [{ text: prompt, loss: false }, { text: ex.answer, loss: true }];
  }
  const ids = [...prefix];
  const loss: number[] = new Array(prefix.length).fill(0);
  let eosInAnswer = false;
  for (const s of segs) {
    if (!s.text) continue;
    const part = tok.encode(s.text, false);
    const at = ids.length;
    for (let i = 0; i < part.length; i++) ids.push(part[i]);
    loss.length = ids.length;
    loss.fill(s.loss ? 1 : 0, at);
    if (s.loss && ctx.eosId !== null && part.includes(ctx.eosId)) eosInAnswer = true;
  }
  // EOS after the answer unless the template already wrote it into the answer.
  if (ctx.eosId !== null && !eosInAnswer) {
    ids.push(ctx.eosId);
    loss.push(1);
  }
  // A text row predicts every token after the first.
  if (ex.kind === 'text') loss.fill(1, Math.min(1, ids.length));
  const answerStart = loss.indexOf(1);
  return { ids, loss, answerStart: answerStart < 0 ? ids.length : answerStart };
}

/**
 * Cuts a sequence to `max` tokens: first the prompt's start (after the tokenizer's prefix, and
 * keeping at least one prompt token before the answer), then, if the answer alone is too long,
 * the answer's end. Returns the input itself when it fits.
 */
export function truncate(t: Tokenized, max: number, keepHead: number): Tokenized {
  const n = t.ids.length;
  if (n <= max) return t;
  const need = n - max;
  const head = Math.min(keepHead, t.answerStart);
  const cuttable = Math.max(0, t.answerStart - head - 1);
  const cut = Math.min(need, cuttable);
  let ids = [...t.ids.slice(0, head), ...t.ids.slice(head + cut)];
  let loss = [...t.loss.slice(0, head), ...t.loss.slice(head + cut)];
  if (ids.length > max) {
    ids = ids.slice(0, max);
    loss = loss.slice(0, max);
  }
  const answerStart = loss.indexOf(1);
  return { ids, loss, answerStart: answerStart < 0 ? ids.length : answerStart };
}

/** The prompt ids of an example (what evaluation and generation feed the model). */
export function promptIds(ctx: TokenizeContext, ex: Example): number[] {
  const t = tokenizeExample(ctx, ex);
  return t.ids.slice(0, t.answerStart);
}
