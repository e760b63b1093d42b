import { Client } from 'pg';
import { IngestionService } from '../src/ingestion/ingestion.service';
import { delta, exportedCountsAgree, messages, quiet, settled } from './support/accounting';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

/**
 * received = accepted + rejected (by reason) + dropped (by reason) + in flight,
 * through a database outage, a failing handler and recovery. The outage is this
 * file's own database refusing connections (the server and other files' databases
 * are untouched): what a stopped database looks like to the pool.
 */
describe('ingestion accounting: every device message is one counted outcome', () => {
  let t: TestApp;
  let probe: MqttProbe;
  let admin: Client;
  let dbName: string;

  beforeAll(async () => {
    t = await bootTestApp();
    probe = await MqttProbe.connect(t.mqttUrl);
    dbName = new URL(t.db.url).pathname.slice(1);
    admin = new Client({
      connectionString: process.env.E2E_DATABASE_URL,
      connectionTimeoutMillis: 10_000,
    });
    await admin.connect();
  }, 30_000);
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await probe?.close();
    await t?.close();
  }, 30_000);

  const fromdev = (sn: string) => `${t.root}/${sn}/fromdev`;
  const nowS = () => Math.floor(Date.now() / 1000);
  const send = (sn: string, msg: Record<string, unknown>) =>
    probe.publish(fromdev(sn), JSON.stringify({ sn, ts: nowS(), ...msg }));
  const configRequest = { type: 'config_request', fw: '1.0', model: 'RJ-C8', lines: 4, io: 'eth' };

  /** New connections refused, the app's open ones cut: the pool sees a database that is gone. */
  const outage = async () => {
    const [{ pid }] = await t.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
    // The test's own reader stays connected, so the test can still look at the tables.
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2`,
      [dbName, pid],
    );
  };
  const recover = () => admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);

  it('a handler that throws: the message is dropped as handler_failed, counted, and the rest still applies', async () => {
    const sn = await t.register();
    const start = await quiet(t);
    await send(sn, configRequest);
    const before = await settled(t, start, 1);
    t.app.get(IngestionService).on('alarm', () => {
      throw new Error('a feature failed');
    });
    await send(sn, { type: 'alarm', line: 1, code: 'arc', active: true });
    await send(sn, { type: 'alarm', line: 1, code: 'arc', active: false });
    const after = await settled(t, before, 2);
    expect(delta(before, after)).toEqual({
      received: 2,
      accepted: 0,
      rejected: {},
      dropped: { handler_failed: 2 },
    });
    // The alarms module's own handler still ran for both.
    await waitFor(
      async () =>
        (await t.query(`SELECT 1 FROM alarms WHERE sn = $1 AND NOT active`, [sn])).length === 1,
      10_000,
      'alarm raised and cleared',
    );
  }, 30_000);

  it('database down: new serials and refused replies are dropped as database_unavailable; known telemetry waits and is stored', async () => {
    const known = await t.register();
    const start = await quiet(t);
    await send(known, configRequest);
    const before = await settled(t, start, 1);
    await outage();
    try {
      const strangers = Array.from({ length: 10 }, () => newSerial());
      for (const sn of strangers) await send(sn, configRequest);
      const base = nowS() - 30;
      for (let i = 0; i < 5; i++) {
        await send(known, {
          type: 'telemetry',
          ts: base + i,
          lines: [{ line: 1, voltage_v: 230 }],
        });
      }
      // An ack needs the commands table: it cannot be applied now.
      await send(known, { type: 'ack', id: 'c-during-outage', ok: true });
      await probe.publish(fromdev(known), 'not json');
      const during = await settled(t, before, 17);
      expect(delta(before, during)).toEqual({
        received: 17,
        accepted: 5,
        rejected: { bad_json: 1 },
        dropped: { database_unavailable: 11 },
      });
      // Nothing of a stranger reached the registry: there was nowhere to put it.
      expect(await t.query('SELECT sn FROM concentrators WHERE sn = ANY($1)', [strangers])).toEqual(
        [],
      );
    } finally {
      await recover();
    }

    // Back: the buffered telemetry is written, and a new serial is discovered again.
    await t.flush();
    const rows = await t.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM telemetry WHERE sn = $1',
      [known],
    );
    expect(rows[0].n).toBe(5);
    const late = newSerial();
    const mid = await quiet(t);
    await send(late, configRequest);
    const after = await settled(t, mid, 1);
    expect(delta(mid, after)).toEqual({ received: 1, accepted: 1, rejected: {}, dropped: {} });
    await waitFor(
      async () => (await t.query('SELECT 1 FROM concentrators WHERE sn = $1', [late])).length === 1,
      10_000,
      'discovered after recovery',
    );
    const health = (await t.http().get('/health')).body;
    expect(health.ingest.rows.dropped).toEqual({});
  }, 60_000);

  it('/health and /metrics tell the same counts, and they add up', async () => {
    await quiet(t);
    const m = await exportedCountsAgree(t);
    expect(m.dropped).toMatchObject({ handler_failed: 2, database_unavailable: 11 });
    expect(messages(t).received).toBe(m.received);
  }, 20_000);
});
