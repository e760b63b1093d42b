import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { loadConfig } from '../config/app-config';
import { CopyEncodingError } from '../database/copy-text';
import type { DatabaseGate } from '../database/database-gate';
import type { SqlRunner } from '../database/sql-runner';
import { IngestStats } from '../ingestion/ingest-stats';
import type { TelemetryLine } from '../protocol/device-messages';
import { MESSAGE_BYTES, ROW_BYTES } from './telemetry-batch';
import { STALL_MS, TelemetryWriter } from './telemetry-writer.service';
import { COPY_TELEMETRY_BATCH, INSERT_TELEMETRY_BATCH } from './telemetry.sql';

const SN = '202005010001';
const T0 = Date.UTC(2026, 10, 20, 10);
const lines = (n: number): TelemetryLine[] =>
  Array.from({ length: n }, (_, i) => ({ line: i + 1, voltage_v: 230 }));

/** A database whose answers the test gives, one pending write at a time. */
function fakeSql() {
  const pending: { kind: 'copy' | 'insert'; rows: number; settle: (r: number | Error) => void }[] =
    [];
  const write = (kind: 'copy' | 'insert', rows: number) =>
    new Promise<number>((resolve, reject) =>
      pending.push({
        kind,
        rows,
        settle: (r) => (r instanceof Error ? reject(r) : resolve(r)),
      }),
    );
  const sql = {
    copyIn: jest.fn((text: string, chunks: Iterable<string>) => {
      expect(text).toBe(COPY_TELEMETRY_BATCH);
      const rows = [...chunks].join('').split('\n').length - 1;
      return write('copy', rows);
    }),
    bulk: jest.fn(async (text: string, params: string[]) => {
      expect(text).toBe(INSERT_TELEMETRY_BATCH);
      const rows = params[1].split(',').length;
      return { rows: [], rowCount: await write('insert', rows) };
    }),
  };
  return { sql, pending };
}

function setup(env: Record<string, string> = {}) {
  const config = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', ...env });
  const stats = new IngestStats();
  const gate = Object.assign(new EventEmitter(), { up: true });
  const { sql, pending } = fakeSql();
  const writer = new TelemetryWriter(
    sql as unknown as SqlRunner,
    stats,
    config,
    gate as unknown as DatabaseGate,
  );
  return { writer, stats, gate, sql, pending, config };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('TelemetryWriter', () => {
  beforeAll(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('writes a batch by COPY and counts its rows stored', async () => {
    const { writer, stats, pending, sql } = setup();
    writer.enqueue(SN, T0, T0, 1, lines(8));
    writer.enqueue(SN, T0 + 1000, T0 + 1000, 2, lines(8));
    const drained = writer.drain();
    await tick();
    expect(pending.map((p) => [p.kind, p.rows])).toEqual([['copy', 16]]);
    pending.shift()!.settle(16);
    await drained;
    expect(sql.bulk).not.toHaveBeenCalled();
    expect(stats.snapshot().rows).toMatchObject({ stored: 16, duplicate: 0, buffered: 0 });
    expect(stats.copyFallbacks).toBe(0);
    expect(stats.bufferedBytes).toBe(writer.bufferedBytes);
  });

  it('falls back to INSERT … ON CONFLICT for a batch whose COPY met a duplicate, and counts it', async () => {
    const { writer, stats, pending } = setup();
    writer.enqueue(SN, T0, T0, 1, lines(4));
    const first = writer.drain();
    await tick();
    pending.shift()!.settle(Object.assign(new Error('duplicate key'), { code: '23505' }));
    await tick();
    expect(pending.map((p) => [p.kind, p.rows])).toEqual([['insert', 4]]);
    pending.shift()!.settle(3); // one of the four was stored already
    await first;
    expect(stats.snapshot().rows).toMatchObject({ stored: 3, duplicate: 1 });
    expect(stats.copyFallbacks).toBe(1);
    // Only that batch: the next goes by COPY again.
    writer.enqueue(SN, T0 + 1000, T0 + 1000, 2, lines(4));
    const second = writer.drain();
    await tick();
    expect(pending[0].kind).toBe('copy');
    pending.shift()!.settle(4);
    await second;
    expect(stats.snapshot().rows).toMatchObject({ stored: 7, duplicate: 1 });
  });

  it('also falls back for a value COPY text cannot carry', async () => {
    const { writer, stats, pending } = setup();
    writer.enqueue(SN, T0, T0, 1, lines(2));
    const drained = writer.drain();
    await tick();
    pending.shift()!.settle(new CopyEncodingError('year 10000'));
    await tick();
    expect(pending[0].kind).toBe('insert');
    pending.shift()!.settle(2);
    await drained;
    expect(stats.copyFallbacks).toBe(1);
    expect(stats.stored).toBe(2);
  });

  it('bounds the buffer by bytes: a message that would pass the bound is dropped and counted', () => {
    // 1 MiB holds at most this many 8-row messages (the batch grows by doubling, so fewer fit).
    const { writer, stats } = setup({
      INGEST_BUFFER_MAX_BYTES: String(1024 * 1024),
      INGEST_BATCH_SIZE: '100000',
    });
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      if (writer.enqueue(SN, T0 + i * 1000, T0, i, lines(8))) accepted++;
      expect(writer.bufferedBytes).toBeLessThanOrEqual(1024 * 1024);
    }
    expect(accepted).toBeGreaterThan(0);
    expect(accepted * (8 * ROW_BYTES + MESSAGE_BYTES)).toBeLessThanOrEqual(1024 * 1024);
    expect(writer.bufferedRows).toBe(accepted * 8);
    expect(stats.snapshot().rows.dropped).toEqual({ buffer_full: (2000 - accepted) * 8 });
    expect(stats.bufferedBytes).toBe(writer.bufferedBytes);
    expect(writer.load().fill).toBeGreaterThan(0.5);
  });

  it('drops and counts batches that waited past the age bound, oldest first', async () => {
    const { writer, stats, pending } = setup({
      INGEST_MAX_INFLIGHT: '1',
      INGEST_BUFFER_MAX_AGE_S: '60',
    });
    let now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    writer.enqueue(SN, T0, T0, 1, lines(4));
    const drained = writer.drain(); // batch A in flight
    await tick();
    writer.enqueue(SN, T0 + 1, T0, 2, lines(4));
    writer.enqueue(SN, T0 + 2, T0, 3, lines(4));
    now += 30_000;
    void writer.drain(); // batch B queued behind A
    writer.enqueue(SN, T0 + 3, T0, 4, lines(4));
    now += 31_000; // B is 61 s old, the current batch C 31 s
    void writer.drain(); // C sealed; B expires
    expect(stats.snapshot().rows.dropped).toEqual({ expired: 8 });
    expect(stats.snapshot().rows.messagesLost).toEqual({ expired: 2 });
    expect(writer.bufferedRows).toBe(8); // A in flight and C
    pending.shift()!.settle(4);
    await tick();
    expect(pending.map((p) => p.rows)).toEqual([4]);
    pending.shift()!.settle(4);
    await drained;
    expect(stats.stored).toBe(8);
    expect(writer.bufferedRows).toBe(0);
    // Only the empty batch being filled.
    expect(writer.bufferedBytes).toBeLessThan(4096);
  });

  it('is writing while batches complete, not when none completed within the stall bound or the database is down', async () => {
    const { writer, gate, pending } = setup({ INGEST_MAX_INFLIGHT: '1' });
    let now = T0;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    expect(writer.load()).toEqual({ fill: expect.any(Number), saturated: false, writing: true });
    writer.enqueue(SN, T0, T0, 1, lines(4));
    const drained = writer.drain();
    await tick();
    expect(writer.load()).toMatchObject({ saturated: true, writing: true });
    now += STALL_MS + 1;
    expect(writer.load()).toMatchObject({ saturated: true, writing: false });
    pending.shift()!.settle(4);
    await drained;
    expect(writer.load()).toMatchObject({ saturated: false, writing: true });
    gate.up = false;
    expect(writer.load().writing).toBe(false);
  });
});
