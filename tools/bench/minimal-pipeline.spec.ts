import { Writable } from 'node:stream';
import type { Pool } from 'pg';
import { MinimalPipeline } from './minimal-ingester';
import { decodeTelemetry } from './minimal-rows';
import { peakRssBytes, processCpuUs, readStat } from './proc';

const SN = '900000000001';
const ISO = '2026-01-01T00:00:00.000Z';
const msg = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o));
const telemetry = (lines: number, extra: Record<string, unknown> = {}) =>
  msg({
    sn: SN,
    type: 'telemetry',
    ts: 1_767_225_600,
    seq: 1,
    lines: Array.from({ length: lines }, (_, i) => ({ line: i + 1, on: true, voltage_v: 230.5 })),
    ...extra,
  });

describe('minimal pipeline: decoding', () => {
  it('turns a telemetry message into one COPY text line per line', () => {
    const d = decodeTelemetry(SN, telemetry(2), ISO);
    expect(d.kind).toBe('rows');
    if (d.kind !== 'rows') return;
    expect(d.rows).toBe(2);
    const rows = d.text.split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0].split('\t')).toEqual([
      SN,
      '1',
      '2026-01-01T00:00:00.000Z',
      ISO,
      'true',
      '230.5',
      ...Array<string>(8).fill('\\N'),
    ]);
  });

  it('checks the serial against the topic, and nothing of the protocol besides', () => {
    expect(decodeTelemetry('900000000002', telemetry(1), ISO)).toEqual({
      kind: 'rejected',
      reason: 'sn_mismatch',
    });
    expect(decodeTelemetry(SN, Buffer.from('{'), ISO)).toEqual({
      kind: 'rejected',
      reason: 'bad_json',
    });
    expect(decodeTelemetry(SN, msg({ sn: SN, type: 'config_request' }), ISO)).toEqual({
      kind: 'ignored',
    });
    // What would make COPY fail is refused; other values become NULL.
    expect(decodeTelemetry(SN, telemetry(1, { lines: [{ line: 'x' }] }), ISO).kind).toBe(
      'rejected',
    );
    const d = decodeTelemetry(SN, telemetry(1, { lines: [{ line: 3, pf: 'high' }] }), ISO);
    expect(d.kind === 'rows' && d.text.split('\t')[9]).toBe('\\N');
  });
});

/** A pool whose COPYs finish only when the test says so. */
function fakePool() {
  const pending: { rows: number; finish: () => void }[] = [];
  const pool = {
    connect: () =>
      Promise.resolve({
        query: () =>
          new Writable({
            write(chunk: Buffer, _enc, cb) {
              const rows = chunk.toString().split('\n').length - 1;
              pending.push({ rows, finish: () => cb() });
            },
          }),
        release: () => undefined,
      }),
  };
  return { pool: pool as unknown as Pool, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('minimal pipeline: batches and transport backpressure', () => {
  const options = {
    mqttUrl: '',
    databaseUrl: '',
    topicRoot: 'smart/devs',
    table: 't',
    batchRows: 16,
    flushMs: 200,
    maxInflight: 3,
  };
  const topic = `smart/devs/${SN}/fromdev`;

  it('stops reading while the batches in flight are at the limit, and resumes when one is written', async () => {
    const { pool, pending } = fakePool();
    const p = new MinimalPipeline(options, pool);
    let read = 0;
    const feed = () => new Promise<void>((resolve) => p.onMessage(topic, telemetry(8), resolve));
    // 2 messages fill a 16-row batch: 6 messages = 3 batches in flight.
    for (let i = 0; i < 5; i++) {
      await feed();
      read++;
    }
    let held = true;
    p.onMessage(topic, telemetry(8), () => (held = false));
    await tick();
    expect(pending.map((b) => b.rows)).toEqual([16, 16, 16]);
    expect(held).toBe(true);
    expect(read).toBe(5);
    pending[0].finish();
    await tick();
    await tick();
    expect(held).toBe(false);
    for (const b of pending.slice(1)) b.finish();
    await p.drain();
    expect(p.storedRows).toBe(48);
    expect(p.snapshot()).toMatchObject({ received: 6, droppedRows: 0, bufferedRows: 0 });
  });

  it('never puts more than batchRows rows in a batch', async () => {
    const { pool, pending } = fakePool();
    const p = new MinimalPipeline({ ...options, batchRows: 20 }, pool);
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => p.onMessage(topic, telemetry(8), r));
    await tick();
    expect(pending.map((b) => b.rows)).toEqual([16]);
    const drained = p.drain();
    await tick();
    expect(pending.map((b) => b.rows)).toEqual([16, 8]);
    pending.forEach((b) => b.finish());
    await drained;
    expect(p.storedRows).toBe(24);
  });

  it('writes a partial batch after flushMs', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const { pool, pending } = fakePool();
      const p = new MinimalPipeline(options, pool);
      p.onMessage(topic, telemetry(8), () => undefined);
      await jest.advanceTimersByTimeAsync(199);
      expect(pending).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(pending.map((b) => b.rows)).toEqual([8]);
      pending[0].finish();
      await jest.advanceTimersByTimeAsync(0);
      expect(p.storedRows).toBe(8);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('bench /proc readers', () => {
  it('reads this process', () => {
    const s = readStat(process.pid);
    expect(s?.pid).toBe(process.pid);
    expect(s?.ppid).toBe(process.ppid);
    expect(processCpuUs(process.pid)).toBeGreaterThan(0);
    expect(peakRssBytes(process.pid)).toBeGreaterThanOrEqual(process.memoryUsage().rss / 2);
    expect(readStat(2 ** 30)).toBeUndefined();
  });
});
