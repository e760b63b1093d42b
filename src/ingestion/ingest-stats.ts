import { Injectable } from '@nestjs/common';
import type { DropReason, MessageOutcome } from './message-outcome';

/**
 * Telemetry rows lost after they were decoded: the bounded buffer could not
 * take them (`buffer_full`), their batch was given up (`batch_failed`, or at
 * `shutdown`), or they waited longer than INGEST_BUFFER_MAX_AGE_S for a
 * database that did not come back (`expired`).
 */
export type RowLossReason = 'buffer_full' | 'batch_failed' | 'shutdown' | 'expired';

/** How the service and its broker keep up: transport backpressure and what the broker dropped. */
export interface FlowSnapshot {
  /** Reading from the broker is paused now (the writer is saturated). */
  paused: boolean;
  /** Pauses so far, and their total length. */
  pauses: number;
  pausedSeconds: number;
  /**
   * The broker's own count of messages it dropped (mosquitto
   * `$SYS/broker/publish/messages/dropped`: all clients, since it started),
   * null while the broker has not published it.
   */
  brokerDropped: number | null;
  /** When the broker last published that count (ISO), if ever. */
  brokerDroppedAt: string | null;
}

export interface MessageCounts {
  received: number;
  accepted: number;
  rejected: Record<string, number>;
  dropped: Record<string, number>;
  inFlight: number;
}

export interface IngestSnapshot {
  received: number;
  /** Telemetry rows inserted (duplicates of stored rows not included). */
  stored: number;
  /** Telemetry rows dropped, whatever the reason (`rows.dropped` has the split). */
  dropped: number;
  rejected: Record<string, number>;
  batches: number;
  /** Batches that met a duplicate on COPY and were written by INSERT … ON CONFLICT DO NOTHING. */
  copyFallbacks: number;
  lastFlushMs: number;
  bufferedRows: number;
  /** Memory the buffered rows take (ROW_BYTES per row allocated, plus per message). */
  bufferedBytes: number;
  unrecordedRejections: number;
  flow: FlowSnapshot;
  /** received = accepted + Σ rejected + Σ dropped + inFlight, at every moment. */
  messages: MessageCounts;
  rows: {
    stored: number;
    duplicate: number;
    dropped: Record<string, number>;
    buffered: number;
    /** Accepted telemetry messages whose rows were given up after buffering, by reason. */
    messagesLost: Record<string, number>;
  };
}

function inc<K>(m: Map<K, number>, k: K, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

function sum(m: Map<unknown, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/**
 * In-process counters of the hot path. Plain numbers, no locks: Node runs the
 * handlers on one thread, and /health and /metrics read a snapshot.
 *
 * Messages and telemetry rows are counted apart. A message is counted in
 * `received` and `inFlight` when it arrives and moves, in the same tick, to
 * exactly one outcome when its processing ends (settle), so the message
 * counters always add up. Rows have their own counters: a telemetry message is
 * accepted once its rows are buffered; rows lost later (a batch given up) are
 * counted as rows, and the messages they came from in `telemetryMessagesLost`,
 * because a counter that has been reported must never go down.
 */
@Injectable()
export class IngestStats {
  received = 0;
  inFlight = 0;
  accepted = 0;
  /** Messages refused by the protocol rules, by reason. */
  readonly rejected = new Map<string, number>();
  /** Messages the service lost itself, by reason. */
  readonly droppedMessages = new Map<DropReason, number>();

  stored = 0;
  dropped = 0;
  duplicateRows = 0;
  readonly droppedRows = new Map<RowLossReason, number>();
  readonly telemetryMessagesLost = new Map<RowLossReason, number>();
  batches = 0;
  copyFallbacks = 0;
  lastFlushMs = 0;
  bufferedRows = 0;
  bufferedBytes = 0;
  unrecordedRejections = 0;
  /** Set by the transport (ingestion wires it): pauses of reading and the broker's drops. */
  flow: () => FlowSnapshot = () => ({
    paused: false,
    pauses: 0,
    pausedSeconds: 0,
    brokerDropped: null,
    brokerDroppedAt: null,
  });

  /** A message arrives: received and in flight until settled. */
  begin(): void {
    this.received++;
    this.inFlight++;
  }

  /** Its processing ended: out of flight, into exactly one outcome. */
  settle(outcome: MessageOutcome): void {
    this.inFlight--;
    this.count(outcome);
  }

  /** A message that never went in flight (e.g. after shutdown began). */
  receiveSettled(outcome: MessageOutcome): void {
    this.received++;
    this.count(outcome);
  }

  private count(outcome: MessageOutcome): void {
    if (outcome.kind === 'accepted') this.accepted++;
    else if (outcome.kind === 'rejected') inc(this.rejected, outcome.reason);
    else inc(this.droppedMessages, outcome.reason);
  }

  dropRows(reason: RowLossReason, rows: number, messages = 0): void {
    this.dropped += rows;
    inc(this.droppedRows, reason, rows);
    if (messages > 0) inc(this.telemetryMessagesLost, reason, messages);
  }

  recordFlush(rows: number, durationMs: number, duplicates = 0): void {
    this.stored += rows;
    this.duplicateRows += duplicates;
    this.batches += 1;
    this.lastFlushMs = durationMs;
  }

  messageCounts(): MessageCounts {
    return {
      received: this.received,
      accepted: this.accepted,
      rejected: Object.fromEntries(this.rejected),
      dropped: Object.fromEntries(this.droppedMessages),
      inFlight: this.inFlight,
    };
  }

  /** received − (accepted + rejected + dropped + in flight): 0 unless a message went uncounted. */
  unaccounted(): number {
    return (
      this.received - this.accepted - sum(this.rejected) - sum(this.droppedMessages) - this.inFlight
    );
  }

  snapshot(): IngestSnapshot {
    return {
      received: this.received,
      stored: this.stored,
      dropped: this.dropped,
      rejected: Object.fromEntries(this.rejected),
      batches: this.batches,
      copyFallbacks: this.copyFallbacks,
      lastFlushMs: this.lastFlushMs,
      bufferedRows: this.bufferedRows,
      bufferedBytes: this.bufferedBytes,
      unrecordedRejections: this.unrecordedRejections,
      flow: this.flow(),
      messages: this.messageCounts(),
      rows: {
        stored: this.stored,
        duplicate: this.duplicateRows,
        dropped: Object.fromEntries(this.droppedRows),
        buffered: this.bufferedRows,
        messagesLost: Object.fromEntries(this.telemetryMessagesLost),
      },
    };
  }
}
