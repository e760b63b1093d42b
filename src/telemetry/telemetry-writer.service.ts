import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { DatabaseGate } from '../database/database-gate';
import { IngestStats } from '../ingestion/ingest-stats';
import { failureReason } from '../ingestion/message-outcome';
import { TelemetryLine } from '../protocol/device-messages';
import { TelemetryBatch } from './telemetry-batch';
import { INSERT_TELEMETRY_BATCH } from './telemetry.sql';

export interface FlushedEvent {
  rows: number;
  inserted: number;
  durationMs: number;
  messages: { sn: string; seq?: number }[];
}

const MAX_ATTEMPTS = 3;

/**
 * Buffers telemetry rows and writes them in batches (size- or time-bound),
 * with a few batches in flight at once. The buffer has a hard cap: when the
 * database falls behind, new rows are dropped and counted, never held without
 * limit. Emits 'flushed' after each batch (the benchmark listens).
 */
@Injectable()
export class TelemetryWriter extends EventEmitter implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('TelemetryWriter');
  private current = new TelemetryBatch();
  private readonly queue: TelemetryBatch[] = [];
  private queuedRows = 0;
  private inflight = 0;
  private timer?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private lastDropLog = 0;
  private closing = false;
  duplicates = 0;

  constructor(
    private readonly sql: SqlRunner,
    private readonly stats: IngestStats,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly gate: DatabaseGate,
  ) {
    super();
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
    await this.drain();
  }

  get bufferedRows(): number {
    return this.current.rows + this.queuedRows;
  }

  /** Returns false when the message was dropped because the buffer is full. */
  enqueue(
    sn: string,
    tsMs: number,
    receivedMs: number,
    seq: number | undefined,
    lines: TelemetryLine[],
  ): boolean {
    if (this.bufferedRows + lines.length > this.config.ingest.bufferMaxRows) {
      this.stats.dropRows('buffer_full', lines.length);
      const now = Date.now();
      if (now - this.lastDropLog > 5000) {
        this.lastDropLog = now;
        this.log.warn(
          `buffer full (${this.bufferedRows} rows): dropping telemetry; total dropped ${this.stats.dropped}`,
        );
      }
      return false;
    }
    this.current.add(sn, tsMs, receivedMs, seq, lines);
    this.stats.bufferedRows = this.bufferedRows;
    if (this.current.rows >= this.config.ingest.batchSize) this.seal();
    return true;
  }

  /** Resolves when everything buffered so far is written (tests, shutdown). */
  async drain(): Promise<void> {
    this.seal();
    if (this.inflight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private seal(): void {
    if (this.current.rows > 0) {
      this.queue.push(this.current);
      this.queuedRows += this.current.rows;
      this.current = new TelemetryBatch();
    }
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.config.ingest.maxInflight && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inflight++;
      void this.write(batch).finally(() => {
        this.inflight--;
        this.queuedRows -= batch.rows;
        this.stats.bufferedRows = this.bufferedRows;
        this.pump();
        if (this.inflight === 0 && this.queue.length === 0) {
          this.idleWaiters.splice(0).forEach((w) => w());
        }
      });
    }
  }

  private async write(batch: TelemetryBatch): Promise<void> {
    const started = performance.now();
    try {
      const { rowCount: inserted } = await this.sql.bulk(INSERT_TELEMETRY_BATCH, batch.params());
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
        // Back to the head of the line: the cap still bounds memory meanwhile.
        this.queue.unshift(batch);
        this.queuedRows += batch.rows;
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
