import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { DatabaseGate } from '../database/database-gate';
import { IngestStats } from '../ingestion/ingest-stats';
import { failureReason } from '../ingestion/message-outcome';
import { CopyEncodingError } from '../database/copy-text';
import { TelemetryLine } from '../protocol/device-messages';
import { flowMarks, ReadGate, WriterLoad } from './read-gate';
import { MESSAGE_BYTES, ROW_BYTES, TelemetryBatch } from './telemetry-batch';
import { COPY_TELEMETRY_BATCH, INSERT_TELEMETRY_BATCH } from './telemetry.sql';

export interface FlushedEvent {
  rows: number;
  inserted: number;
  durationMs: number;
  messages: { sn: string; seq?: number }[];
}

const MAX_ATTEMPTS = 3;

/**
 * A writer with batches in flight and none completed for this long is not
 * writing (a hung database, or one slower than any sane batch): the read gate
 * does not hold the transport for it, and nothing is shed unparsed.
 */
export const STALL_MS = 5000;

/** COPY refused the batch for its content, not for the database: the INSERT path takes it. */
function copyConflict(err: unknown): boolean {
  return err instanceof CopyEncodingError || (err as { code?: unknown })?.code === '23505';
}

/**
 * Buffers telemetry rows and writes them in batches (size- or time-bound),
 * with a few batches in flight at once, each by COPY (by INSERT … ON CONFLICT
 * DO NOTHING when it meets a duplicate). The buffer is bounded by rows, by
 * bytes and by age: beyond the first two new rows are dropped and counted,
 * past the third the oldest batches are, never held without limit. Its read
 * gate tells the transport when to stop reading (see ReadGate). Emits
 * 'flushed' after each batch (the benchmark listens).
 */
@Injectable()
export class TelemetryWriter extends EventEmitter implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('TelemetryWriter');
  private current = new TelemetryBatch();
  private readonly queue: TelemetryBatch[] = [];
  /** Rows and bytes of sealed batches not yet done (queued or in flight). */
  private queuedRows = 0;
  private queuedBytes = 0;
  private inflight = 0;
  /** When a batch last completed, or the writer last went from idle to busy. */
  private lastProgressAt = 0;
  private lastBatchRows = 0;
  private timer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private lastDropLog = 0;
  private lastExpiryLog = 0;
  private closing = false;
  duplicates = 0;
  /** Transport backpressure: ingestion hands it to the MQTT transport. */
  readonly readGate: ReadGate;

  constructor(
    private readonly sql: SqlRunner,
    private readonly stats: IngestStats,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gate: DatabaseGate,
  ) {
    super();
    const { batchSize, bufferMaxRows, bufferMaxBytes, maxInflight } = config.ingest;
    const batchFill = Math.max(
      batchSize / bufferMaxRows,
      (batchSize * ROW_BYTES + MESSAGE_BYTES) / bufferMaxBytes,
    );
    this.readGate = new ReadGate(flowMarks(batchFill, maxInflight), () => this.load());
  }

  /** A retry's wait, cut short when the database answers again after an outage. */
  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.gate.off('up', done);
        resolve();
      };
      const timer = setTimeout(done, ms).unref();
      this.gate.once('up', done);
    });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.seal(), this.config.ingest.flushMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // A database that stays down must not hold shutdown forever: give up after the retries.
    this.closing = true;
    this.readGate.release();
    await this.drain();
  }

  get bufferedRows(): number {
    return this.current.rows + this.queuedRows;
  }

  /** Memory the buffered rows take (see ROW_BYTES). */
  get bufferedBytes(): number {
    return this.current.bytes + this.queuedBytes;
  }

  /** What the read gate decides on. */
  load(now = Date.now()): WriterLoad {
    const { bufferMaxRows, bufferMaxBytes, maxInflight } = this.config.ingest;
    const stalled = this.inflight > 0 && now - this.lastProgressAt > STALL_MS;
    return {
      fill: Math.max(this.bufferedRows / bufferMaxRows, this.bufferedBytes / bufferMaxBytes),
      saturated: this.inflight >= maxInflight,
      writing: this.gate.up && !stalled,
    };
  }

  /** Returns false when the message was dropped because the buffer is full. */
  enqueue(
    sn: string,
    tsMs: number,
    receivedMs: number,
    seq: number | undefined,
    lines: TelemetryLine[],
  ): boolean {
    const { bufferMaxRows, bufferMaxBytes, batchSize } = this.config.ingest;
    if (
      this.bufferedRows + lines.length > bufferMaxRows ||
      this.queuedBytes + this.current.bytesWith(lines.length) > bufferMaxBytes
    ) {
      this.stats.dropRows('buffer_full', lines.length);
      const now = Date.now();
      if (now - this.lastDropLog > 5000) {
        this.lastDropLog = now;
        this.log.warn(
          `buffer full (${this.bufferedRows} rows, ${this.bufferedBytes} bytes): dropping telemetry; total dropped ${this.stats.dropped}`,
        );
      }
      return false;
    }
    this.current.add(sn, tsMs, receivedMs, seq, lines);
    this.publishStats();
    if (this.current.rows >= batchSize) this.seal();
    return true;
  }

  /** Resolves when everything buffered so far is written (tests, shutdown). */
  async drain(): Promise<void> {
    this.seal();
    if (this.inflight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private seal(): void {
    const batch = this.current;
    if (batch.rows > 0) {
      batch.trim();
      this.queue.push(batch);
      this.queuedRows += batch.rows;
      this.queuedBytes += batch.bytes;
      this.lastBatchRows = batch.rows;
      // Sized like the last one (which may pass the batch size by a message's lines): a
      // steady load fills it without copying rows.
      this.current = new TelemetryBatch(
        Math.min(this.lastBatchRows, this.config.ingest.batchSize + 256),
      );
    }
    this.pump();
  }

  private publishStats(): void {
    this.stats.bufferedRows = this.bufferedRows;
    this.stats.bufferedBytes = this.bufferedBytes;
  }

  /**
   * Batches that waited past INGEST_BUFFER_MAX_AGE_S (a database away for that
   * long) are given up, oldest first, and counted: a buffer that outlives the
   * outage it was meant for only holds memory. The queue is in age order
   * (a retried batch goes back to its head).
   */
  private expire(now = Date.now()): void {
    const maxAgeMs = this.config.ingest.bufferMaxAgeS * 1000;
    let rows = 0;
    while (this.queue.length > 0 && now - this.queue[0].firstAt > maxAgeMs) {
      const batch = this.queue.shift()!;
      this.queuedRows -= batch.rows;
      this.queuedBytes -= batch.bytes;
      rows += batch.rows;
      this.stats.dropRows('expired', batch.rows, batch.messages.length);
    }
    if (rows > 0 && now - this.lastExpiryLog > 5000) {
      this.lastExpiryLog = now;
      this.log.warn(
        `${rows} buffered rows older than ${this.config.ingest.bufferMaxAgeS} s dropped (INGEST_BUFFER_MAX_AGE_S)`,
      );
    }
  }

  private pump(): void {
    this.expire();
    while (this.inflight < this.config.ingest.maxInflight && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      if (this.inflight === 0) this.lastProgressAt = Date.now();
      this.inflight++;
      void this.write(batch).finally(() => {
        this.inflight--;
        this.queuedRows -= batch.rows;
        this.queuedBytes -= batch.bytes;
        this.pump();
        if (this.inflight === 0 && this.queue.length === 0) {
          this.idleWaiters.splice(0).forEach((w) => w());
        }
      });
    }
    this.publishStats();
    this.readGate.update();
  }

  /** COPY, or INSERT … ON CONFLICT DO NOTHING for a batch that met a duplicate. Rows inserted. */
  private async store(batch: TelemetryBatch): Promise<number> {
    if (!batch.insertOnly) {
      try {
        return await this.sql.copyIn(COPY_TELEMETRY_BATCH, batch.copyChunks());
      } catch (err) {
        if (!copyConflict(err)) throw err;
        // Only this batch: the next one goes by COPY again.
        batch.insertOnly = true;
        this.stats.copyFallbacks++;
      }
    }
    return (await this.sql.bulk(INSERT_TELEMETRY_BATCH, batch.params())).rowCount;
  }

  private async write(batch: TelemetryBatch): Promise<void> {
    const started = performance.now();
    try {
      const inserted = await this.store(batch);
      this.lastProgressAt = Date.now();
      const durationMs = performance.now() - started;
      this.duplicates += batch.rows - inserted;
      this.stats.recordFlush(inserted, durationMs, batch.rows - inserted);
      this.emit('flushed', {
        rows: batch.rows,
        inserted,
        durationMs,
        messages: batch.messages,
      } satisfies FlushedEvent);
    } catch (err) {
      batch.attempts++;
      const e = err as Error & { code?: string };
      // An outage is waited out (the buffer cap bounds memory); anything else gets MAX_ATTEMPTS.
      const transient = failureReason(e) === 'database_unavailable' && !this.closing;
      if (transient || batch.attempts < MAX_ATTEMPTS) {
        this.log.error(
          `batch of ${batch.rows} rows failed (${e.code ?? ''} ${e.message}); retrying`,
        );
        await this.backoff(Math.min(5000, 250 * 2 ** batch.attempts));
        // Back to the head of the line: the caps still bound memory meanwhile.
        this.queue.unshift(batch);
        this.queuedRows += batch.rows;
        this.queuedBytes += batch.bytes;
      } else {
        // Its messages stay accepted (counters never go back); the loss is counted in rows
        // and in telemetry messages lost, by whether shutdown gave up on it.
        this.stats.dropRows(
          this.closing ? 'shutdown' : 'batch_failed',
          batch.rows,
          batch.messages.length,
        );
        this.log.error(
          `batch of ${batch.rows} rows dropped after ${batch.attempts} attempts: ${e.message}`,
        );
      }
    }
  }
}
