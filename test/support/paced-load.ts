import { SimulatedConcentrator } from '../../tools/simulator/concentrator';

/** One telemetry message a load generator got onto the wire, and when. */
export interface Sent {
  sn: string;
  ts: number;
  atMs: number;
}

/**
 * Telemetry from a set of simulated concentrators at a steady pace, each
 * message with a timestamp of its own (one-second resolution: two samples in
 * the same second of one line are duplicates by design), so every stored row
 * can be traced to the message that carried it. Publishing goes on through
 * broker and service outages; what could not be written is not in `sent`.
 */
export class PacedLoad {
  readonly sent: Sent[] = [];
  failed = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private next: number;

  constructor(
    private readonly devices: SimulatedConcentrator[],
    private readonly everyMs = 100,
    /** Device time of the first message: far enough back for the whole run to stay in the past. */
    firstTs = Math.floor(Date.now() / 1000) - 6 * 3600,
  ) {
    this.next = firstTs;
  }

  start(): void {
    this.running = true;
    this.loops = this.devices.map((d) => this.loop(d));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Messages sent in [fromMs, toMs). */
  between(fromMs: number, toMs = Infinity): Sent[] {
    return this.sent.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
  }

  private async loop(d: SimulatedConcentrator): Promise<void> {
    while (this.running) {
      const ts = this.next++;
      try {
        await d.publishTelemetry(undefined, { ts });
        this.sent.push({ sn: d.sn, ts, atMs: Date.now() });
      } catch {
        this.failed++;
      }
      await new Promise((r) => setTimeout(r, this.everyMs));
    }
  }
}
