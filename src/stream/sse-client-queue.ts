/** The part of an HTTP response the queue writes to (a fake in unit tests). */
export interface SseSink {
  /** false: the socket buffer is full; write nothing more until 'drain'. */
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  cork?(): void;
  uncork?(): void;
}

export interface SseClientQueueOptions {
  capacity: number;
  /** Called for every frame dropped (feeds the global counter). */
  onDrop?: (n: number) => void;
  /** How a pump is deferred off the emitter's stack; setImmediate by default. */
  schedule?: (fn: () => void) => void;
}

export function droppedFrame(count: number, total: number): string {
  return `event: dropped\ndata: ${JSON.stringify({ count, total })}\n\n`;
}

/**
 * A bounded FIFO of ready SSE frames between the event bus and one client's
 * socket. Pushing never blocks and never grows past `capacity`: when full the
 * oldest frame is dropped and counted. Frames are written only while the
 * socket accepts them (`write` returns true); after a refusal the queue waits
 * for 'drain'. When it resumes after losing frames, the client first gets a
 * `dropped` event with how many it missed.
 */
export class SseClientQueue {
  private readonly ring: (string | undefined)[];
  private head = 0;
  private length = 0;
  private blocked = false;
  private scheduled = false;
  private closed = false;
  private unreportedDrops = 0;
  private droppedTotal = 0;
  private written = 0;
  private readonly schedule: (fn: () => void) => void;

  constructor(
    private readonly sink: SseSink,
    private readonly opts: SseClientQueueOptions,
  ) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1)
      throw new Error('capacity must be >= 1');
    this.ring = new Array<string | undefined>(opts.capacity);
    this.schedule = opts.schedule ?? ((fn) => void setImmediate(fn));
  }

  get size(): number {
    return this.length;
  }
  /** Frames this client lost since it connected. */
  get dropped(): number {
    return this.droppedTotal;
  }
  get sent(): number {
    return this.written;
  }
  get waitingForDrain(): boolean {
    return this.blocked;
  }

  push(frame: string): void {
    if (this.closed) return;
    const cap = this.opts.capacity;
    if (this.length === cap) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % cap;
      this.length--;
      this.unreportedDrops++;
      this.droppedTotal++;
      this.opts.onDrop?.(1);
    }
    this.ring[(this.head + this.length) % cap] = frame;
    this.length++;
    this.requestPump();
  }

  /**
   * A comment line (heartbeat). Only written when the client is idle: a
   * blocked socket gains nothing from more bytes, and a busy one is alive.
   */
  comment(text: string): boolean {
    if (this.closed || this.blocked || this.length > 0) return false;
    if (!this.sink.write(`: ${text}\n\n`)) this.waitForDrain();
    return true;
  }

  close(): void {
    this.closed = true;
    this.ring.fill(undefined);
    this.length = 0;
  }

  private requestPump(): void {
    if (this.blocked || this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed || this.blocked) return;
    this.sink.cork?.();
    try {
      while (this.length > 0 || this.unreportedDrops > 0) {
        let frame: string;
        if (this.unreportedDrops > 0) {
          frame = droppedFrame(this.unreportedDrops, this.droppedTotal);
          this.unreportedDrops = 0;
        } else {
          frame = this.ring[this.head]!;
          this.ring[this.head] = undefined;
          this.head = (this.head + 1) % this.opts.capacity;
          this.length--;
          this.written++;
        }
        if (!this.sink.write(frame)) {
          this.waitForDrain();
          return;
        }
      }
    } finally {
      this.sink.uncork?.();
    }
  }

  private waitForDrain(): void {
    this.blocked = true;
    this.sink.once('drain', () => {
      this.blocked = false;
      this.pump();
    });
  }
}
