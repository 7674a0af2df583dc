// A small seeded random generator whose whole state is one 32-bit number, so a data cursor or a
// checkpoint can save it and a resumed run draws exactly the numbers it would have drawn
// (mulberry32). `rng(seed)` is the same generator as a plain function (adapter initialisation, the
// references' test data).

export class Random {
  private s: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Random: the seed must be a finite number, got ${seed}`);
    this.s = seed >>> 0;
  }

  /** The whole state: `new Random(0).restore(r.state)` continues where `r` is. */
  get state(): number {
    return this.s;
  }

  restore(state: number): this {
    this.s = state >>> 0;
    return this;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** A 32-bit seed derived from several integers (e.g. a run's seed and an epoch). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Deterministic PRNG (mulberry32, the same sequence as `Random`) as a function, so draws reproduce. */
export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}
