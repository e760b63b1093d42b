import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceHistory } from '../concentrators/device-history.service';
import type { IngestStats } from '../ingestion/ingest-stats';
import type { FlushedEvent } from '../telemetry/telemetry-writer.service';
import { METRIC_PREFIX as P } from '../metrics/metrics-registry';

/**
 * Ingest pipeline metrics. IngestStats keeps plain counters for /health too;
 * they are copied into Prometheus counters at scrape time. Batch histograms
 * are fed from the writer's 'flushed' event as batches complete.
 */
export function registerIngestMetrics(
  registry: Registry,
  stats: IngestStats,
  history: Pick<DeviceHistory, 'counts'>,
) {
  const registers = [registry];
  // Counters cannot be set: reset + inc at collect time reports the source's running total.
  new Counter({
    name: `${P}mqtt_messages_received_total`,
    help: 'fromdev messages received from the broker',
    registers,
    collect() {
      this.reset();
      this.inc(stats.received);
    },
  });
  new Counter({
    name: `${P}mqtt_messages_rejected_total`,
    help: 'fromdev messages rejected, by reason (see /api/v1/rejections)',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of stats.rejected) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${P}ingest_messages_total`,
    help:
      'fromdev messages by outcome: accepted (applied), rejected (protocol refusal, by reason) or ' +
      'dropped (lost by the service, by reason); received = their sum + in flight',
    labelNames: ['outcome', 'reason'],
    registers,
    collect() {
      this.reset();
      this.inc({ outcome: 'accepted' }, stats.accepted);
      for (const [reason, n] of stats.rejected) this.inc({ outcome: 'rejected', reason }, n);
      for (const [reason, n] of stats.droppedMessages) this.inc({ outcome: 'dropped', reason }, n);
    },
  });
  new Gauge({
    name: `${P}ingest_messages_in_flight`,
    help: 'fromdev messages received and still being processed',
    registers,
    collect() {
      this.set(stats.inFlight);
    },
  });
  new Counter({
    name: `${P}telemetry_rows_stored_total`,
    help: 'telemetry rows (one per line and sample) inserted into the database',
    registers,
    collect() {
      this.reset();
      this.inc(stats.stored);
    },
  });
  new Counter({
    name: `${P}telemetry_rows_dropped_total`,
    help: 'telemetry rows dropped (ingest buffer full, or a batch failed after its retries)',
    registers,
    collect() {
      this.reset();
      this.inc(stats.dropped);
    },
  });
  new Counter({
    name: `${P}telemetry_rows_duplicate_total`,
    help: 'telemetry rows not inserted because the same (sn, line, ts) was already stored',
    registers,
    collect() {
      this.reset();
      this.inc(stats.duplicateRows);
    },
  });
  new Counter({
    name: `${P}telemetry_messages_lost_total`,
    help:
      'accepted telemetry messages whose buffered rows were given up (batch failed after its ' +
      'retries, or at shutdown), by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of stats.telemetryMessagesLost) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${P}device_events_total`,
    help:
      'device events (connectivity, clock, serial mismatch, status): written as a row, ' +
      'coalesced into the open row of identical events, or unrecorded (database refused)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      this.inc({ outcome: 'written' }, history.counts.written);
      this.inc({ outcome: 'coalesced' }, history.counts.coalesced);
      this.inc({ outcome: 'unrecorded' }, history.counts.unrecorded);
    },
  });
  new Counter({
    name: `${P}telemetry_batches_total`,
    help: 'telemetry batches written',
    registers,
    collect() {
      this.reset();
      this.inc(stats.batches);
    },
  });
  new Gauge({
    name: `${P}ingest_buffered_rows`,
    help: 'telemetry rows buffered in memory, waiting to be written',
    registers,
    collect() {
      this.set(stats.bufferedRows);
    },
  });
  new Gauge({
    name: `${P}ingest_buffered_bytes`,
    help: 'memory the buffered telemetry rows take (bounded by INGEST_BUFFER_MAX_BYTES)',
    registers,
    collect() {
      this.set(stats.bufferedBytes);
    },
  });
  new Counter({
    name: `${P}telemetry_copy_fallbacks_total`,
    help:
      'telemetry batches whose COPY met a duplicate sample, written by INSERT … ON CONFLICT DO ' +
      'NOTHING instead (the duplicates are counted in bcb_telemetry_rows_duplicate_total)',
    registers,
    collect() {
      this.reset();
      this.inc(stats.copyFallbacks);
    },
  });
  new Gauge({
    name: `${P}ingest_read_paused`,
    help:
      '1 while the service does not read from the broker (backpressure: the database cannot ' +
      'keep up), else 0',
    registers,
    collect() {
      this.set(stats.flow().paused ? 1 : 0);
    },
  });
  new Counter({
    name: `${P}ingest_read_pauses_total`,
    help: 'times the service stopped reading from the broker for backpressure',
    registers,
    collect() {
      this.reset();
      this.inc(stats.flow().pauses);
    },
  });
  new Counter({
    name: `${P}ingest_read_paused_seconds_total`,
    help: 'time the service spent not reading from the broker for backpressure',
    registers,
    collect() {
      this.reset();
      this.inc(stats.flow().pausedSeconds);
    },
  });
  new Gauge({
    name: `${P}broker_messages_dropped`,
    help:
      "the broker's own count of messages it dropped (queue limits; all clients, since the " +
      'broker started), from mosquitto $SYS/broker/publish/messages/dropped; absent while the ' +
      'broker has not published it',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      const n = stats.flow().brokerDropped;
      if (n !== null) this.set({ source: '$SYS/broker/publish/messages/dropped' }, n);
    },
  });
  const batchRows = new Histogram({
    name: `${P}telemetry_batch_rows`,
    help: 'rows per telemetry batch written',
    buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000],
    registers,
  });
  const flushSeconds = new Histogram({
    name: `${P}telemetry_flush_duration_seconds`,
    help: 'time to write one telemetry batch (one COPY, or the INSERT it falls back to)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const messagesStored = new Counter({
    name: `${P}telemetry_messages_stored_total`,
    help: 'telemetry messages whose batch was written (their rows may include duplicates skipped)',
    registers,
  });
  return (e: Pick<FlushedEvent, 'rows' | 'durationMs' | 'messages'>): void => {
    messagesStored.inc(e.messages.length);
    batchRows.observe(e.rows);
    flushSeconds.observe(e.durationMs / 1000);
  };
}
