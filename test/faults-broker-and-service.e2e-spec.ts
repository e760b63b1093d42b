import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { unaccounted } from './support/accounting';
import { OwnMosquitto, ServiceProcess } from './support/fault-rig';
import { PacedLoad, Sent } from './support/paced-load';
import {
  ADMIN_TOKEN,
  bootTestApp,
  createTestDatabase,
  newSerial,
  TestApp,
  TestDatabase,
  waitFor,
} from './support/test-app';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { IngestStats, MessageCounts } from '../src/ingestion/ingest-stats';

/**
 * Faults at the edges of the service, under a paced load: its broker
 * restarted, the service itself killed with SIGKILL and started again. Each
 * run checks that nothing the service took in went uncounted, that it
 * recovers within seconds, and that what devices sent after recovery is
 * stored exactly once.
 */
const LINES = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many of these messages' rows are stored (each message carries LINES rows). */
async function storedOf(
  query: (sql: string, p: unknown[]) => Promise<{ n: number }[]>,
  sent: Sent[],
) {
  if (sent.length === 0) return 0;
  const [{ n }] = await query(
    `SELECT count(*)::int AS n FROM telemetry t
       JOIN unnest($1::text[], $2::float8[]) AS s(sn, ts)
         ON t.sn = s.sn AND t.ts = to_timestamp(s.ts)`,
    [sent.map((s) => s.sn), sent.map((s) => s.ts)],
  );
  return n / LINES;
}

describe('faults: broker restart under load', () => {
  let broker: OwnMosquitto;
  let t: TestApp;
  let devices: SimulatedConcentrator[] = [];

  beforeAll(async () => {
    broker = await OwnMosquitto.start();
    t = await bootTestApp({ env: { MQTT_URL: broker.url } });
  }, 60_000);
  afterAll(async () => {
    for (const d of devices) await d.stop().catch(() => undefined);
    await t?.close();
    await broker?.destroy();
  }, 60_000);

  it('reconnects and resubscribes within seconds, keeps the API up, and accounts for every message', async () => {
    devices = [];
    for (let i = 0; i < 8; i++) {
      const d = t.simulator({ sn: await t.register(), lines: LINES });
      await d.start();
      devices.push(d);
    }
    const load = new PacedLoad(devices, 100);
    load.start();
    await sleep(3000);

    await broker.stop();
    const downAt = Date.now();
    await waitFor(async () => (await t.http().get('/health')).status === 503, 10_000, 'health 503');
    expect((await t.http().get('/health')).body.down).toContain('broker');
    // The API does not need the broker to read.
    await t.api().get('/api/v1/concentrators').expect(200);
    await sleep(Math.max(0, 4000 - (Date.now() - downAt)));

    await broker.resume();
    const upAt = Date.now();
    await waitFor(
      async () => (await t.http().get('/health')).status === 200,
      15_000,
      'reconnected',
    );
    const reconnectMs = Date.now() - upAt;
    await waitFor(() => devices.every((d) => d.connected), 15_000, 'devices reconnected');
    const steadyFrom = Date.now() + 500;
    await sleep(3500);
    await load.stop();

    await waitFor(() => t.app.get(IngestStats).messageCounts().inFlight === 0, 10_000);
    await t.flush();
    const m = t.app.get(IngestStats).messageCounts();
    expect(unaccounted(m)).toBe(0);
    expect(m.dropped).toEqual({});
    // Never more than the devices tried to send (config_requests on every connect included; a
    // publish whose callback failed as the connection broke may still have reached the broker),
    // plus at most one `offline` will per device: the broker publishes those, not the devices.
    const attempts = devices.reduce((n, d) => n + d.stats.published, 0);
    expect(m.received).toBeLessThanOrEqual(attempts + devices.length);
    // What devices sent once everything was connected again is all stored, once.
    const after = load.between(steadyFrom);
    expect(after.length).toBeGreaterThan(100);
    expect(await storedOf((s, p) => t.query(s, p), after)).toBe(after.length);
    console.log(
      `broker restart: service reconnected ${reconnectMs} ms after the broker was back; ` +
        `${load.sent.length} sent, ${m.received} received, ${m.accepted} accepted`,
    );
  }, 120_000);
});

describe('faults: the service killed with SIGKILL and restarted under load', () => {
  let broker: OwnMosquitto;
  let db: TestDatabase;
  let service: ServiceProcess | undefined;
  let pg: Client;
  let devices: SimulatedConcentrator[] = [];
  const root = `fault${randomBytes(3).toString('hex')}/devs`;

  const env = () => ({
    DATABASE_URL: db.url,
    MQTT_URL: broker.url,
    MQTT_TOPIC_ROOT: root,
    ADMIN_TOKEN,
    COMMAND_TIMEOUT_S: '4',
    INGEST_FLUSH_MS: '100',
  });
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${service!.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    });
  const health = async () =>
    (await (await fetch(`${service!.url}/health`)).json()) as {
      ingest: { messages: MessageCounts };
    };

  beforeAll(async () => {
    broker = await OwnMosquitto.start();
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 60_000);
  afterAll(async () => {
    for (const d of devices) await d.stop().catch(() => undefined);
    await service?.kill('SIGKILL').catch(() => undefined);
    await pg?.end().catch(() => undefined);
    await db?.drop();
    await broker?.destroy();
  }, 60_000);

  it('loses at most what it had buffered, settles its open commands as timeout, and stores everything after restart once', async () => {
    service = await ServiceProcess.start(env());
    devices = [];
    for (let i = 0; i < 6; i++) {
      const sn = newSerial();
      const res = await api('/api/v1/concentrators', {
        method: 'POST',
        body: JSON.stringify({ sn, name: `fault ${i}` }),
      });
      expect(res.status).toBe(201);
      // The last one never acks: its command is open when the service dies.
      const d = new SimulatedConcentrator({
        brokerUrl: broker.url,
        sn,
        topicRoot: root,
        intervalMs: 0,
        lines: LINES,
        ackRate: i === 5 ? 0 : 1,
      });
      await d.start();
      devices.push(d);
    }
    const silent = devices[5].sn;
    await waitFor(
      async () =>
        ((await (await api(`/api/v1/concentrators/${silent}`)).json()) as { online: boolean })
          .online,
      10_000,
      'online',
    );
    const switched = await api(`/api/v1/concentrators/${silent}/switch`, {
      method: 'POST',
      body: JSON.stringify({ lines: [1], on: false }),
    });
    expect(switched.status).toBe(202);
    const command = (await switched.json()) as { id: string };

    const load = new PacedLoad(devices, 100);
    load.start();
    await sleep(3000);
    const rssBefore = service.rssMiB();
    const killedAt = Date.now();
    await service.kill('SIGKILL');

    service = await ServiceProcess.start(env());
    const upAt = Date.now();
    await waitFor(async () => (await fetch(`${service!.url}/health`)).status === 200, 15_000);
    const steadyFrom = Date.now() + 500;
    await sleep(3500);
    await load.stop();

    // The command the dead instance left open is settled by the new one's sweep.
    await waitFor(
      async () =>
        ((await (await api(`/api/v1/commands/${command.id}`)).json()) as { state: string })
          .state === 'timeout',
      20_000,
      'open command settled as timeout',
    );
    await waitFor(async () => (await health()).ingest.messages.inFlight === 0, 10_000);
    await sleep(500); // one flush period (INGEST_FLUSH_MS=100) and the write itself
    const m = (await health()).ingest.messages;
    expect(unaccounted(m)).toBe(0);
    expect(m.dropped).toEqual({});

    const query = async (sql: string, p: unknown[]) => (await pg.query<{ n: number }>(sql, p)).rows;
    // Before the kill: all but what was published in the last moments (buffered, not yet written).
    const before = load.between(0, killedAt - 1000);
    expect(await storedOf(query, before)).toBe(before.length);
    // After the restart: everything, exactly once (the primary key would refuse a second copy).
    const after = load.between(steadyFrom);
    expect(after.length).toBeGreaterThan(100);
    expect(await storedOf(query, after)).toBe(after.length);
    const [{ n: rows }] = await query(
      'SELECT count(*)::int AS n FROM telemetry WHERE sn = ANY($1)',
      [devices.map((d) => d.sn)],
    );
    expect(rows / LINES).toBeLessThanOrEqual(load.sent.length);
    expect(service.rssMiB()).toBeLessThan(Math.max(600, rssBefore * 2));
    console.log(
      `SIGKILL: restarted and healthy ${upAt - killedAt} ms after the kill; ` +
        `${load.sent.length} sent, ${rows / LINES} stored; RSS ${Math.round(service.rssMiB())} MiB`,
    );
  }, 240_000);
});
