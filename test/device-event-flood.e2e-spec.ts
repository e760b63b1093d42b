import { DeviceHistory } from '../src/concentrators/device-history.service';
import { PeriodicJobs } from '../src/jobs/periodic-jobs';
import { delta, exportedCountsAgree, quiet, settled } from './support/accounting';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp } from './support/test-app';

type EventRow = { kind: string; occurrences: number; detail: Record<string, unknown> | null };

/**
 * A device's own traffic cannot grow device_events without bound: thousands
 * of serial mismatches, clock-skew flaps and online/offline flaps become a
 * handful of rows with counts, every message is accounted for, and old rows
 * of device_events, rejections and audit_log go with retention.
 */
describe('device event flood: bounded rows, every message counted', () => {
  let t: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    t = await bootTestApp({ env: { REJECTIONS_RECORD_PER_S: '50' } });
    probe = await MqttProbe.connect(t.mqttUrl);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  const fromdev = (sn: string) => `${t.root}/${sn}/fromdev`;
  const nowS = () => Math.floor(Date.now() / 1000);

  /**
   * Publishes in chunks, each once the app has taken the previous one: a broker
   * may drop QoS 0 messages a subscriber is slow to take, and the counts below
   * must be exact on any machine.
   */
  const publishAll = async (sn: string, payloads: Record<string, unknown>[]) => {
    const before = await quiet(t);
    for (let i = 0; i < payloads.length; i += 250) {
      for (const p of payloads.slice(i, i + 250)) {
        await probe.publish(fromdev(sn), JSON.stringify(p));
      }
      await settled(t, before, Math.min(i + 250, payloads.length), 30_000);
    }
    return delta(before, await quiet(t));
  };

  const events = async (sn: string) => {
    await t.flush();
    return t.query<EventRow>(
      'SELECT kind, occurrences, detail FROM device_events WHERE sn = $1 ORDER BY id',
      [sn],
    );
  };
  const occurrences = (rows: EventRow[], kind: string, reason?: string) =>
    rows
      .filter((r) => r.kind === kind && (reason === undefined || r.detail?.reason === reason))
      .reduce((n, r) => n + r.occurrences, 0);

  it('2000 serial-mismatch messages on a registered device: one row counting 2000, all rejected and counted', async () => {
    const sn = await t.register();
    const other = newSerial();
    const msgs = Array.from({ length: 2000 }, (_, i) => ({
      sn: i % 2 ? other : newSerial(),
      type: 'telemetry',
      ts: nowS(),
      lines: [{ line: 1 }],
    }));
    const d = await publishAll(sn, msgs);
    expect(d).toEqual({
      received: 2000,
      accepted: 0,
      rejected: { serial_mismatch: 2000 },
      dropped: {},
    });
    const rows = await events(sn);
    expect(rows.filter((r) => r.kind === 'serial_mismatch')).toHaveLength(1);
    expect(occurrences(rows, 'serial_mismatch')).toBe(2000);
    expect(rows.length).toBeLessThanOrEqual(3);
    // The rejections table got a rate-limited sample; the count is exact.
    const [{ n }] = await t.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rejections WHERE sn = $1`,
      [sn],
    );
    expect(n).toBeLessThan(2000);

    // The API tells the count and the first and last time.
    const api = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/events?kind=serial_mismatch`)
      .expect(200);
    expect(api.body.items).toHaveLength(1);
    const [e] = api.body.items as { count: number; at: string; lastAt: string }[];
    expect(e.count).toBe(2000);
    expect(Date.parse(e.lastAt)).toBeGreaterThanOrEqual(Date.parse(e.at));
  }, 120_000);

  it('ts flapping between now and a day ahead: 1000 clock flag changes, two rows', async () => {
    const sn = await t.register();
    const msgs = Array.from({ length: 1000 }, (_, i) => ({
      sn,
      type: 'telemetry',
      // Skewed first, then trusted, and so on: every message flips the flag.
      ts: i % 2 === 0 ? nowS() + 86_400 : nowS() - 1000 + i,
      lines: [{ line: 1, voltage_v: 230 }],
    }));
    const d = await publishAll(sn, msgs);
    expect(d).toEqual({ received: 1000, accepted: 1000, rejected: {}, dropped: {} });
    const rows = await events(sn);
    expect(occurrences(rows, 'clock_skew')).toBe(500);
    expect(occurrences(rows, 'clock_ok')).toBe(500);
    expect(rows.filter((r) => r.kind.startsWith('clock_'))).toHaveLength(2);
    expect(rows.length).toBeLessThanOrEqual(4);
  }, 120_000);

  it('offline will messages alternating with telemetry: 2000 connectivity changes, two rows', async () => {
    const sn = await t.register();
    const base = nowS() - 3000;
    const msgs = Array.from({ length: 2000 }, (_, i) =>
      i % 2 === 0
        ? { sn, type: 'telemetry', ts: base + i, lines: [{ line: 1, voltage_v: 230 }] }
        : { sn, type: 'offline' },
    );
    const d = await publishAll(sn, msgs);
    expect(d).toEqual({ received: 2000, accepted: 2000, rejected: {}, dropped: {} });
    const rows = await events(sn);
    expect(occurrences(rows, 'online', 'message')).toBe(1000);
    expect(occurrences(rows, 'offline', 'will')).toBe(1000);
    expect(rows.filter((r) => r.kind === 'online' || r.kind === 'offline')).toHaveLength(2);
    expect(rows.length).toBeLessThanOrEqual(4);
    const [{ online }] = await t.query<{ online: boolean }>(
      'SELECT online FROM concentrators WHERE sn = $1',
      [sn],
    );
    expect(online).toBe(false);
  }, 120_000);

  it('switch state flapping: 1000 status changes, one row per line and state', async () => {
    const sn = await t.register();
    const msgs = Array.from({ length: 1000 }, (_, i) => ({
      sn,
      type: 'status',
      ts: nowS() - 2000 + i,
      lines: [{ line: 1, on: i % 2 === 0, cause: i % 2 === 0 ? 'remote_on' : 'remote_off' }],
    }));
    const d = await publishAll(sn, msgs);
    expect(d).toEqual({ received: 1000, accepted: 1000, rejected: {}, dropped: {} });
    const rows = (await events(sn)).filter((r) => r.kind === 'status');
    expect(rows).toHaveLength(2);
    expect(occurrences(rows, 'status')).toBe(1000);
  }, 120_000);

  it('their owners delete device_events, rejections and audit rows past their days, in batches', async () => {
    const sn = newSerial();
    await t.query(
      `INSERT INTO device_events (sn, kind, at) SELECT $1, 'online', now() - interval '91 days'
         FROM generate_series(1, 120)`,
      [sn],
    );
    await t.query(`INSERT INTO device_events (sn, kind, at) VALUES ($1, 'online', now())`, [sn]);
    await t.query(
      `INSERT INTO rejections (at, reason, topic, sn) SELECT now() - interval '31 days', 'bad_json', 'x', $1
         FROM generate_series(1, 30)`,
      [sn],
    );
    await t.query(
      `INSERT INTO audit_log (at, actor, action, target, outcome) SELECT now() - interval '366 days',
              'old', 'x', $1, 'ok' FROM generate_series(1, 10)`,
      [sn],
    );
    await t.query(
      `INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (now() - interval '300 days', 'recent', 'x', $1, 'ok')`,
      [sn],
    );
    // Five batches of 25; the hourly jobs do the same with batches of 5000.
    const deleted = await t.app
      .get(DeviceHistory)
      .prune({ batchRows: 25, maxBatches: 100, pauseMs: 0 });
    expect(deleted).toBe(120);
    const jobs = t.app.get(PeriodicJobs);
    await jobs.runNow('rejections.prune');
    await jobs.runNow('audit.prune');
    await jobs.runNow('device-events.prune');
    const count = async (table: string, col: string) =>
      (
        await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${col} = $1`, [
          sn,
        ])
      )[0].n;
    expect(await count('device_events', 'sn')).toBe(1);
    expect(await count('rejections', 'sn')).toBe(0);
    expect(await count('audit_log', 'target')).toBe(1);
  }, 30_000);

  it('the whole flood is accounted for in /health and /metrics', async () => {
    await quiet(t);
    const m = await exportedCountsAgree(t);
    expect(m.received).toBe(6000);
    expect(m.dropped).toEqual({});
  }, 20_000);
});
