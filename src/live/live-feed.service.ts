import { Injectable } from '@nestjs/common';

/** What dashboards can follow live (SSE): one shape per kind, always with the serial. */
export type LiveEvent =
  | { kind: 'telemetry'; sn: string; at: string; lines: Record<string, unknown>[] }
  | {
      kind: 'status';
      sn: string;
      at: string;
      lines: { line: number; on: boolean; cause?: string }[];
    }
  | { kind: 'alarm'; sn: string; at: string; alarm: Record<string, unknown> }
  | { kind: 'command'; sn: string; at: string; command: Record<string, unknown> }
  | { kind: 'connectivity'; sn: string; at: string; online: boolean; reason: string }
  | { kind: 'upgrade'; sn: string; at: string; upgrade: Record<string, unknown> };

export type LiveEventKind = LiveEvent['kind'];
type Listener = (e: LiveEvent) => void;

/**
 * In-process fan-out of live events. Emitting is synchronous and cheap when
 * nobody listens; listeners must not block (the SSE side queues per client).
 */
@Injectable()
export class LiveFeed {
  private readonly listeners = new Set<Listener>();

  get listenerCount(): number {
    return this.listeners.size;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: LiveEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A broken listener must never reach the emitter (often the ingest hot path).
      }
    }
  }
}
