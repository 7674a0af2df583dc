// Launchers for shaders/embedding/*: embeddingForward and embeddingBackward, same names and
// argument order as src/reference/embedding.ts (plus the engine first). The backward groups
// the batch's token positions by id on the host (ids are host data when a batch is built), so
// the GPU scatter-add has one owner per vocabulary row and needs no atomics.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import type { EmbeddingShape } from './shapes.ts';

/** out = wte[ids] (+ wpe[t]); ids is a u32 buffer of B·T token ids. */
export function embeddingForward(engine: Engine, out: GPUBuffer, ids: GPUBuffer, wte: GPUBuffer, wpe: GPUBuffer | null, s: EmbeddingShape): void {
  const n = s.B * s.T * s.C;
  engine.dispatch(engine.kernel('embedding/embedding_forward', { HAS_POS: wpe !== null }), {
    bindings: [out, ids, wte, wpe ?? engine.dummy],
    params: params({ BT: s.B * s.T, T: s.T, C: s.C, pos0: s.pos0 ?? 0 }),
    workgroups: gridElements(n),
  });
}

/** Token positions grouped by id: the CSR structure embedding_backward reads. */
export function embeddingBuckets(ids: ArrayLike<number>, V: number): { uniq: Uint32Array; starts: Uint32Array; rows: Uint32Array } {
  const byId = new Map<number, number[]>();
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < V)) throw new RangeError(`embedding: token id ${id} at row ${r} is outside the vocabulary [0, ${V})`);
    let l = byId.get(id);
    if (!l) byId.set(id, (l = []));
    l.push(r);
  }
  const uniq = new Uint32Array(byId.size);
  const starts = new Uint32Array(byId.size + 1);
  const rows = new Uint32Array(ids.length);
  let u = 0;
  let o = 0;
  for (const [id, l] of byId) {
    uniq[u] = id;
    starts[u] = o;
    rows.set(l, o);
    o += l.length;
    u++;
  }
  starts[u] = o;
  return { uniq, starts, rows };
}

/** dwte += scatter of dout by ids; dwpe += Σ_b dout (when given). `ids` are the batch's host ids. */
export function embeddingBackward(engine: Engine, dwte: GPUBuffer, dwpe: GPUBuffer | null, dout: GPUBuffer, ids: ArrayLike<number>, s: EmbeddingShape): void {
  const { uniq, starts, rows } = embeddingBuckets(ids, s.V);
  const U = uniq.length;
  engine.dispatch(engine.kernel('embedding/embedding_backward'), {
    bindings: [dwte, dout, engine.scratch('emb.uniq', uniq), engine.scratch('emb.starts', starts), engine.scratch('emb.rows', rows)],
    params: params({ U, C: s.C, pad0: 0, pad1: 0 }),
    workgroups: [Math.ceil(s.C / 64), Math.min(U, 65535), Math.ceil(U / 65535)],
  });
  if (dwpe) {
    engine.dispatch(engine.kernel('embedding/embedding_backward_pos'), {
      bindings: [dwpe, dout],
      params: params({ B: s.B, T: s.T, C: s.C, pad: 0 }),
      workgroups: gridElements(s.T * s.C),
    });
  }
}
