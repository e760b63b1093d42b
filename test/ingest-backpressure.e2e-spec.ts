import { IngestStats } from '../src/ingestion/ingest-stats';
import type { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { delta, quiet, unaccounted } from './support/accounting';
import { OwnMosquitto } from './support/fault-rig';
import { PacedLoad } from './support/paced-load';
import { bootTestApp, TestApp, waitFor } from './support/test-app';

/**
 * Overload: the database is made slow (every write statement sleeps) and a
 * fleet publishes back to back, far more than it can store. The service must
 * stop reading from the broker rather than parse what it would drop: its
 * buffer stays near the high mark, well under its cap, and every message the
 * fleet published is accounted for — received by the service (and then
 * accepted and stored, or dropped with a reason), or dropped by the broker,
 * which says so in `$SYS/broker/publish/messages/dropped`.
 */

const LINES = 8;
const DEVICES = 12;
const BUFFER_ROWS = 4000;
const LOAD_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backpressure: a database slower than the fleet', () => {
  let broker: OwnMosquitto;
  let t: TestApp;
  const devices: SimulatedConcentrator[] = [];

  beforeAll(async () => {
    // A small broker queue, so what the service does not read is dropped (and counted) there
    // soon; $SYS every second.
    broker = await OwnMosquitto.start(['max_queued_messages 200', 'sys_interval 1']);
    t = await bootTestApp({
      env: {
        MQTT_URL: broker.url,
        INGEST_BATCH_SIZE: '200',
        INGEST_MAX_INFLIGHT: '1',
        INGEST_FLUSH_MS: '50',
        INGEST_BUFFER_MAX_ROWS: String(BUFFER_ROWS),
      },
    });
    for (let i = 0; i < DEVICES; i++) {
      const d = t.simulator({ sn: await t.register(), lines: LINES });
      await d.start();
      devices.push(d);
    }
    await sleep(1000);
  }, 90_000);

  afterAll(async () => {
    await t?.close();
    await broker?.destroy();
  }, 60_000);

  const brokerDropped = () => t.app.get(IngestStats).flow().brokerDropped;

  it('stops reading instead of parsing what it would drop, and accounts for every message', async () => {
    await waitFor(() => brokerDropped() !== null, 10_000, "the broker's dropped count");
    const base = await quiet(t);
    const droppedBase = brokerDropped()!;
    const rowsBase = t.app.get(IngestStats).snapshot().rows;
    // 200 rows per statement, a quarter of a second each: at most ~800 rows/s.
    await t.query(`
      CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(0.25); RETURN NULL; END $$`);
    await t.query(
      `CREATE TRIGGER slow_down AFTER INSERT ON telemetry FOR EACH STATEMENT EXECUTE FUNCTION slow_down()`,
    );

    // Back to back, one second of device time per message: tens of thousands of them must all
    // stay in the trusted clock window (7 days back), each sample its own.
    const load = new PacedLoad(devices, 0, Math.floor(Date.now() / 1000) - 6 * 86_400);
    const stats = t.app.get(IngestStats);
    let peakRows = 0;
    let peakBytes = 0;
    let sawPaused = false;
    load.start();
    const started = Date.now();
    while (Date.now() - started < LOAD_MS) {
      const s = stats.snapshot();
      peakRows = Math.max(peakRows, s.bufferedRows);
      peakBytes = Math.max(peakBytes, s.bufferedBytes);
      sawPaused ||= s.flow.paused;
      await sleep(50);
    }
    await load.stop();
    const during = stats.snapshot();
    await t.query(`DROP TRIGGER slow_down ON telemetry`);

    // What the broker held for the service arrives now; its drops are counted within a second.
    const sent = load.sent.length;
    await waitFor(
      () =>
        stats.messageCounts().received - base.received + (brokerDropped()! - droppedBase) >= sent &&
        stats.inFlight === 0,
      60_000,
      'every published message received or dropped by the broker',
    );
    await sleep(1500);
    const after = await quiet(t);
    await t.flush();
    const d = delta(base, after);
    const brokerDrops = brokerDropped()! - droppedBase;
    process.stdout.write(
      `[backpressure] published ${sent}, received ${d.received}, broker dropped ${brokerDrops}, ` +
        `accepted ${d.accepted}, dropped ${JSON.stringify(d.dropped)}, buffer peak ${peakRows} rows / ` +
        `${peakBytes} bytes, pauses ${during.flow.pauses} (${during.flow.pausedSeconds.toFixed(1)} s)\n`,
    );

    // It stopped reading, for a good share of the overload.
    expect(sawPaused).toBe(true);
    expect(during.flow.pauses).toBeGreaterThan(0);
    expect(during.flow.pausedSeconds).toBeGreaterThan(LOAD_MS / 1000 / 4);
    // The buffer stayed a few batches deep, far under its cap: nothing was dropped for room.
    expect(peakRows).toBeLessThanOrEqual(BUFFER_ROWS / 2);
    expect(d.dropped.buffer_full).toBeUndefined();
    expect(Object.keys(d.dropped).filter((r) => r !== 'overload')).toEqual([]);

    // Every published message: received by the service, or dropped by the broker.
    expect(load.failed).toBe(0);
    // The broker's count is of all it dropped: also the odd $SYS update it had for the
    // service while the service was not reading (one a second at most).
    const notReceived = sent - d.received;
    expect(brokerDrops).toBeGreaterThanOrEqual(notReceived);
    expect(brokerDrops - notReceived).toBeLessThanOrEqual(60);
    expect(unaccounted(after)).toBe(0);
    expect(d.rejected).toEqual({});
    expect(d.accepted + (d.dropped.overload ?? 0)).toBe(d.received);
    // Every accepted message stored, once.
    const rows = stats.snapshot().rows;
    expect(rows.stored - rowsBase.stored).toBe(LINES * d.accepted);
    expect(rows.duplicate - rowsBase.duplicate).toBe(0);
    expect(rows.buffered).toBe(0);
    const [{ n }] = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM telemetry
        WHERE sn = ANY($1) AND ts BETWEEN to_timestamp($2) AND to_timestamp($3)`,
      [devices.map((x) => x.sn), load.sent[0].ts - DEVICES, load.sent[sent - 1].ts + DEVICES],
    );
    expect(n).toBe(LINES * d.accepted);

    // Shown beside the service's own counters.
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(
      /^bcb_broker_messages_dropped\{source="\$SYS\/broker\/publish\/messages\/dropped"\} \d+$/m,
    );
    expect(metrics).toMatch(/^bcb_ingest_read_pauses_total [1-9]\d*$/m);
    const health = (await t.http().get('/health').expect(200)).body;
    expect(health.ingest.flow).toMatchObject({
      paused: false,
      brokerDropped: expect.any(Number),
      pauses: expect.any(Number),
    });
  }, 120_000);
});
