// Timing helpers shared by the browser benchmark page and the Node benchmark: warm-up, then
// the median of timed runs, each run waiting for the GPU to finish its work.

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

export async function timeRuns(run: () => Promise<void>, opts: { warmup?: number; runs?: number } = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1;
  const runs = opts.runs ?? 5;
  for (let i = 0; i < warmup; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(ms.length / 2)], minMs: ms[0], runs };
}

export const gflops = (flops: number, ms: number) => flops / (ms * 1e6);
export const round = (x: number, digits = 3) => Number(x.toPrecision(digits));
