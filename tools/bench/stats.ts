/** Nearest-rank percentile; `sorted` must be ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Wall-clock milliseconds comparable across worker threads (performance.now() is per thread). */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/**
 * Pairs "published (sn, seq) at t" with "stored (sn, seq) at t". Either side
 * may be seen first: publish records cross a thread boundary in batches, so a
 * fast flush can overtake them.
 */
export class LatencyTracker {
  private readonly sent = new Map<string, number>();
  private readonly storedFirst = new Map<string, number>();
  readonly samples: number[] = [];

  published(sn: string, seq: number, t: number): void {
    const key = `${sn}#${seq}`;
    const stored = this.storedFirst.get(key);
    if (stored === undefined) this.sent.set(key, t);
    else {
      this.storedFirst.delete(key);
      this.samples.push(stored - t);
    }
  }

  stored(sn: string, seq: number, t: number): void {
    const key = `${sn}#${seq}`;
    const sent = this.sent.get(key);
    if (sent === undefined) this.storedFirst.set(key, t);
    else {
      this.sent.delete(key);
      this.samples.push(t - sent);
    }
  }

  /** Published messages never seen stored. */
  get unmatched(): number {
    return this.sent.size;
  }

  summary(): { count: number; p50: number; p99: number; max: number } {
    const s = [...this.samples].sort((a, b) => a - b);
    return {
      count: s.length,
      p50: percentile(s, 50),
      p99: percentile(s, 99),
      max: s[s.length - 1],
    };
  }
}

export class RssSampler {
  peak = process.memoryUsage().rss;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 250) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, everyMs);
    this.timer.unref();
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}
