/** What the read gate looks at, sampled whenever it decides. */
export interface WriterLoad {
  /** Buffer fill: the larger of rows / INGEST_BUFFER_MAX_ROWS and bytes / INGEST_BUFFER_MAX_BYTES. */
  fill: number;
  /** The writer has INGEST_MAX_INFLIGHT batches in flight. */
  saturated: boolean;
  /**
   * The database takes batches: it is up and a batch completed within the
   * stall bound. False during an outage or a hung database.
   */
  writing: boolean;
}

/** Marks in units of fill (0 empty, 1 full), low < high ≤ shed. */
export interface FlowMarks {
  /** Stop reading at or above this while the writer is saturated. */
  high: number;
  /** Read again at or below this. */
  low: number;
  /** Drop raw telemetry, unparsed, at or above this while the writer is saturated. */
  shed: number;
}

/**
 * The marks for a writer (`batchFill`: one full batch, in units of fill).
 * Reading stops at a quarter of the buffer, or when two batches wait beyond
 * those in flight if that is more: deep enough that a hiccup of the database
 * (a checkpoint, a slow batch) is absorbed here rather than dropped by the
 * broker, shallow enough to stay far from the caps (with the defaults, 50,000
 * rows, about 5 MB and a second of writing). It goes on two batches lower, so
 * a pause lasts about two batch writes and the database always has work
 * ready. At most half the buffer; raw telemetry is shed at three quarters.
 */
export function flowMarks(batchFill: number, maxInflight: number): FlowMarks {
  const high = Math.min(0.5, Math.max(0.25, (maxInflight + 2) * batchFill));
  const low = Math.max(high / 2, high - 2 * batchFill);
  return { high, low, shed: 0.75 };
}

/**
 * Transport backpressure with hysteresis. While the database is writing but
 * cannot keep up (the writer saturated and its buffer at the high mark), the
 * transport waits before it reads the next message, until the buffer is back
 * at the low mark: the broker then queues, or drops and counts, what the
 * service could not store anyway, and no CPU goes into decoding it.
 *
 * It never waits on a database that is not writing (down, or hung past the
 * stall bound): then the buffer absorbs the outage, bounded by rows, bytes and
 * age, and what does not fit is dropped and counted by the service itself.
 */
export class ReadGate {
  private closed = false;
  private released = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly marks: FlowMarks,
    private readonly load: () => WriterLoad,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Before the next message is read: null to read on, else the promise to wait for. */
  wait(): Promise<void> | null {
    if (this.released) return null;
    const s = this.load();
    if (!this.closed) {
      if (!(s.writing && s.saturated && s.fill >= this.marks.high)) return null;
      this.closed = true;
    } else if (this.mayOpen(s)) {
      this.open();
      return null;
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** The writer's state changed (a batch done or failed, a tick): open if it may. */
  update(): void {
    if (this.closed && this.mayOpen(this.load())) this.open();
  }

  /**
   * Telemetry is to be dropped before parsing: reading goes on although the
   * gate is closed (the transport reads on to reach a keepalive answer), the
   * database is the bottleneck and the buffer is at the shed mark. A message
   * read while the gate was open (the one that closes it, or any while the
   * database is not writing) is decoded, and buffered or dropped for room.
   */
  shedding(): boolean {
    if (!this.closed) return false;
    const s = this.load();
    return s.writing && s.saturated && s.fill >= this.marks.shed;
  }

  /** Opens for good (shutdown): nobody waits any more. */
  release(): void {
    this.released = true;
    this.open();
  }

  private mayOpen(s: WriterLoad): boolean {
    return !s.writing || s.fill <= this.marks.low;
  }

  private open(): void {
    this.closed = false;
    this.waiters.splice(0).forEach((w) => w());
  }
}
