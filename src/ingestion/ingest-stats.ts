import { Injectable } from '@nestjs/common';

export interface IngestSnapshot {
  received: number;
  stored: number;
  dropped: number;
  rejected: Record<string, number>;
  batches: number;
  lastFlushMs: number;
  bufferedRows: number;
  unrecordedRejections: number;
}

/**
 * In-process counters of the hot path. Plain numbers, no locks: Node runs the
 * handlers on one thread, and /health and /metrics read a snapshot.
 */
@Injectable()
export class IngestStats {
  received = 0;
  stored = 0;
  dropped = 0;
  batches = 0;
  lastFlushMs = 0;
  bufferedRows = 0;
  unrecordedRejections = 0;
  readonly rejected = new Map<string, number>();

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  recordFlush(rows: number, durationMs: number): void {
    this.stored += rows;
    this.batches += 1;
    this.lastFlushMs = durationMs;
  }

  snapshot(): IngestSnapshot {
    return {
      received: this.received,
      stored: this.stored,
      dropped: this.dropped,
      rejected: Object.fromEntries(this.rejected),
      batches: this.batches,
      lastFlushMs: this.lastFlushMs,
      bufferedRows: this.bufferedRows,
      unrecordedRejections: this.unrecordedRejections,
    };
  }
}
