// Right-padding a batch of token-id sequences to its longest, with the attention mask (1 = real
// token, 0 = padding): the padded-batch form that the BERT encoder, its float64 reference and
// HF's tokenizer(padding=True) share.

export interface PaddedBatch {
  B: number;
  /** Longest sequence in the batch. */
  T: number;
  /** (B, T) token ids, padding = padId. */
  ids: Uint32Array;
  /** (B, T) 1 for a real token, 0 for padding. */
  mask: Uint32Array;
}

export function padSequences(seqs: readonly (readonly number[])[], padId = 0): PaddedBatch {
  const B = seqs.length;
  const T = Math.max(0, ...seqs.map((s) => s.length));
  const ids = new Uint32Array(B * T).fill(padId);
  const mask = new Uint32Array(B * T);
  seqs.forEach((s, b) => {
    ids.set(s, b * T);
    mask.fill(1, b * T, b * T + s.length);
  });
  return { B, T, ids, mask };
}
