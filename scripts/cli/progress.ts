// The terminal progress bar of `npm run finetune`: one line (step, loss, tokens/s, ETA), redrawn
// in place on a terminal, printed every so often to a pipe or log file.

/** 75 s → "1m15s", 3700 s → "1h01m", null → "?". */
export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressInfo {
  step: number;
  total: number;
  /** Mean loss of the recent steps (null before the first). */
  loss: number | null;
  tokensPerSecond: number;
  etaSeconds: number | null;
  skipped?: number;
  status?: string;
}

/** One line of at most `width` characters: "step 12/200 [###.......]  loss 1.234  512 tok/s  ETA 3m12s". */
export function progressLine(p: ProgressInfo, width = 100): string {
  const frac = p.total > 0 ? Math.min(1, p.step / p.total) : 0;
  const count = `step ${String(p.step).padStart(String(p.total).length)}/${p.total}`;
  const tail = [
    `loss ${p.loss === null ? '—' : p.loss.toFixed(4)}`,
    `${p.tokensPerSecond >= 100 ? Math.round(p.tokensPerSecond) : p.tokensPerSecond.toFixed(1)} tok/s`,
    `ETA ${formatDuration(p.etaSeconds)}`,
    ...(p.skipped ? [`${p.skipped} skipped`] : []),
    ...(p.status && p.status !== 'running' ? [p.status] : []),
  ].join('  ');
  const barWidth = Math.max(5, Math.min(30, width - count.length - tail.length - 6));
  const filled = Math.round(frac * barWidth);
  const line = `${count} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${tail}`;
  return line.length > width ? line.slice(0, width) : line;
}

/** Mean loss of the last `n` finite rows. */
export function recentLoss(losses: number[], n = 10): number | null {
  const v = losses.filter(Number.isFinite).slice(-n);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** Draws the line in place on a TTY; elsewhere prints it every tenth of the run, every `everySeconds` and at the end. */
export class ProgressBar {
  private lastPrint = 0;
  private lastTenth = -1;
  private drawn = false;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly everySeconds = 30,
  ) {}

  update(p: ProgressInfo, force = false): void {
    if (this.out.isTTY) {
      this.out.write(`\r${progressLine(p, Math.max(40, (this.out.columns ?? 100) - 1))}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = Date.now() / 1000;
    const tenth = p.total > 0 ? Math.floor((10 * p.step) / p.total) : 0;
    if (force || now - this.lastPrint >= this.everySeconds || tenth > this.lastTenth) {
      this.out.write(progressLine(p) + '\n');
      this.lastPrint = now;
      this.lastTenth = tenth;
    }
  }

  /** Ends the line so later output starts on a fresh one. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
