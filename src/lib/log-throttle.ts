/**
 * Decides which repeated log lines to print: the first for a key, then at
 * most one per period with the number held back meanwhile. Keys are bounded
 * (oldest forgotten first) so a flood of distinct senders cannot grow memory.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly periodMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** null: hold this one back; else print it, mentioning `held` lines not printed since the last. */
  take(key: string, now = Date.now()): { held: number } | null {
    const e = this.last.get(key);
    if (e && now - e.at < this.periodMs) {
      e.held++;
      return null;
    }
    const held = e?.held ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: now, held: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value!);
    return { held };
  }
}
