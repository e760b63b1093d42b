import { Client } from 'pg';
import request from 'supertest';
import { IngestStats } from '../src/ingestion/ingest-stats';
import type { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { delta, quiet, unaccounted } from './support/accounting';
import { OwnMosquitto, OwnPostgres } from './support/fault-rig';
import { bootTestApp, TestApp, waitFor } from './support/test-app';

/**
 * The service's own PostgreSQL stopped, then frozen with SIGSTOP, for ~10 s
 * under a paced load of simulated concentrators. Throughout: database-backed
 * REST routes answer 503 with Retry-After promptly (a database-stored token
 * included), /metrics answers from memory within 1 s, /health names the
 * database; the telemetry buffer stays under its cap. Afterwards: recovery
 * within seconds, every message counted, every accepted row stored.
 */

const LINES = 4;
const DEVICES = 12;
/** Per device: 5 messages a second, 240 rows a second in all; a 10 s outage overflows the cap. */
const EVERY_MS = 200;
const BUFFER_CAP = 1500;
const OUTAGE_MS = 10_000;
const PROBE_EVERY_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Telemetry at a steady pace, every message with a timestamp of its own
 * (one counter for the whole fleet, seconds in the past), so the rows of a
 * window of the run can be counted in the table by their time range.
 */
class Load {
  private running = false;
  private loops: Promise<void>[] = [];
  private nextTs = Math.floor(Date.now() / 1000) - 6 * 3600;
  sent = 0;
  failed = 0;
  firstTs = 0;
  lastTs = 0;

  constructor(private readonly devices: SimulatedConcentrator[]) {}

  /** Starts a window: counts and the time range restart. */
  start(): void {
    this.sent = 0;
    this.failed = 0;
    this.firstTs = this.nextTs;
    this.running = true;
    this.loops = this.devices.map((d) => this.loop(d));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.lastTs = this.nextTs - 1;
  }

  private async loop(d: SimulatedConcentrator): Promise<void> {
    while (this.running) {
      const ts = this.nextTs++;
      try {
        await d.publishTelemetry(undefined, { ts });
        this.sent++;
      } catch {
        this.failed++;
      }
      await sleep(EVERY_MS);
    }
  }
}

interface Answer {
  /** ms after the fault was in place that the request was sent */
  sentAt: number;
  ms: number;
  status: number;
  retryAfter?: string;
  body?: unknown;
  text: string;
  error?: string;
}

/** One request, timed; a request still unanswered after 20 s counts as a hang (status 0). */
async function timed(sentAt: number, send: () => request.Test): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await send().timeout(20_000);
    return {
      sentAt,
      ms: performance.now() - started,
      status: res.status,
      retryAfter: res.headers['retry-after'] as string | undefined,
      body: res.body as unknown,
      text: res.text,
    };
  } catch (err) {
    const error = (err as Error).message;
    return { sentAt, ms: performance.now() - started, status: 0, text: '', error };
  }
}

function rowCounts(t: TestApp) {
  const s = t.app.get(IngestStats).snapshot();
  return {
    stored: s.rows.stored,
    duplicate: s.rows.duplicate,
    dropped: { ...s.rows.dropped } as Record<string, number>,
    buffered: s.rows.buffered,
  };
}

const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('faults: the database stopped and frozen under load', () => {
  let pg: OwnPostgres | undefined;
  let broker: OwnMosquitto | undefined;
  let t: TestApp;
  let load: Load;
  let viewerToken: string;
  let sns: string[] = [];

  beforeAll(async () => {
    pg = await OwnPostgres.start();
    broker = await OwnMosquitto.start();
    t = await bootTestApp({
      db: { url: pg.url, drop: () => Promise.resolve() },
      env: { MQTT_URL: broker.url, INGEST_BUFFER_MAX_ROWS: String(BUFFER_CAP) },
    });
    const created = await t
      .api()
      .post('/api/v1/tokens')
      .send({ name: 'fault viewer', role: 'viewer' })
      .expect(201);
    viewerToken = (created.body as { token: string }).token;
    const devices: SimulatedConcentrator[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const sn = await t.register();
      const d = t.simulator({ sn, lines: LINES });
      await d.start();
      devices.push(d);
    }
    sns = devices.map((d) => d.sn);
    load = new Load(devices);
    // The devices' replies to what the service sends on connect are not part of any window.
    let last = -1;
    await waitFor(
      async () => {
        const now = (await quiet(t)).received;
        const stable = now === last;
        last = now;
        if (!stable) await sleep(1000);
        return stable;
      },
      30_000,
      'device traffic settled after connect',
    );
  }, 180_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    // A frozen or stopped server must not outlive the file, nor hold the app's close.
    pg?.thaw();
    await pg?.resume().catch(() => undefined);
    await t?.close().catch(() => undefined);
    await broker?.destroy().catch(() => undefined);
    await pg?.destroy().catch(() => undefined);
  }, 90_000);

  /** A connection per query: the app's reader (t.query) does not survive a stopped server. */
  async function query<T>(sql: string, params: unknown[]): Promise<T[]> {
    const c = new Client({ connectionString: pg!.url, connectionTimeoutMillis: 10_000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as T[];
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** What a scrape, /health and database-backed routes answer every PROBE_EVERY_MS for `forMs`. */
  async function probe(forMs: number) {
    const since = performance.now();
    const metrics: Promise<Answer>[] = [];
    const health: Promise<Answer>[] = [];
    const rest: Promise<Answer>[] = [];
    let peakBuffered = 0;
    const sn = sns[0];
    while (performance.now() - since < forMs) {
      const at = performance.now() - since;
      metrics.push(timed(at, () => t.http().get('/metrics')));
      health.push(timed(at, () => t.http().get('/health')));
      // A token kept in the database: the guard itself needs the database.
      rest.push(
        timed(at, () =>
          t.http().get('/api/v1/commands?limit=1').set('Authorization', `Bearer ${viewerToken}`),
        ),
      );
      // The bootstrap token is checked in memory: the handlers need the database.
      rest.push(timed(at, () => t.api().get('/api/v1/audit?limit=1')));
      rest.push(timed(at, () => t.api().get(`/api/v1/concentrators/${sn}/events?limit=1`)));
      // An audited command route: the refusal is not held up by its audit row.
      rest.push(
        timed(at, () =>
          t
            .api()
            .post(`/api/v1/concentrators/${sn}/switch`)
            .send({ lines: [1], on: true }),
        ),
      );
      peakBuffered = Math.max(peakBuffered, t.app.get(IngestStats).bufferedRows);
      await sleep(PROBE_EVERY_MS);
    }
    return {
      metrics: await Promise.all(metrics),
      health: await Promise.all(health),
      rest: await Promise.all(rest),
      peakBuffered,
    };
  }

  /** Load on; the fault for OUTAGE_MS with probes; repaired; then every count checked. */
  async function underLoad(
    fault: { apply(): Promise<void>; repair(): Promise<void> },
    restMs: number,
  ) {
    const base = await quiet(t);
    const rowsBase = rowCounts(t);
    let seen: Awaited<ReturnType<typeof probe>>;
    let apiBackMs: number;
    let drainedMs: number;
    load.start();
    try {
      const storedBefore = rowsBase.stored;
      await waitFor(() => rowCounts(t).stored > storedBefore, 15_000, 'rows stored under load');

      await fault.apply();
      try {
        seen = await probe(OUTAGE_MS);
      } finally {
        await fault.repair();
      }
      const repairedAt = performance.now();

      // Recovery: the API answers, and the backlog is written while the load goes on.
      await waitFor(
        async () =>
          (
            await t
              .http()
              .get('/api/v1/commands?limit=1')
              .set('Authorization', `Bearer ${viewerToken}`)
          ).status === 200,
        15_000,
        'the API answering again',
      );
      apiBackMs = performance.now() - repairedAt;
      await waitFor(
        () => t.app.get(IngestStats).bufferedRows < BUFFER_CAP / 5,
        20_000,
        'the buffered backlog written',
      );
      drainedMs = performance.now() - repairedAt;
      await sleep(2000);
    } finally {
      await load.stop();
    }
    const after = await quiet(t, 20_000);
    await t.flush();

    // --- During the fault -----------------------------------------------
    const slow = (as: Answer[], ms: number) => as.filter((a) => a.ms > ms || a.status === 0);
    expect(slow(seen.metrics, 1000)).toEqual([]);
    expect(seen.metrics.every((a) => a.status === 200)).toBe(true);
    for (const a of seen.health) {
      expect(a).toMatchObject({
        status: 503,
        body: {
          down: expect.arrayContaining(['database']),
          database: { up: false, error: expect.any(String) },
          ingest: { messages: { received: expect.any(Number) } },
        },
      });
    }
    expect(slow(seen.health, 3500)).toEqual([]);
    for (const a of seen.rest) {
      expect(a).toMatchObject({
        status: 503,
        retryAfter: expect.stringMatching(/^[1-9][0-9]*$/),
        body: {
          statusCode: 503,
          error: 'Service Unavailable',
          message: expect.stringMatching(/^database unavailable/),
          code: 'database_unavailable',
        },
      });
    }
    expect(slow(seen.rest, restMs)).toEqual([]);
    // Memory: the buffer never went past its cap (the excess was dropped and counted below).
    expect(seen.peakBuffered).toBeLessThanOrEqual(BUFFER_CAP);
    for (const a of seen.metrics) {
      expect(metric(a.text, 'bcb_ingest_buffered_rows')).toBeLessThanOrEqual(BUFFER_CAP);
    }
    // The database-backed gauge is served from memory, and says how old it is.
    const lastDuring = seen.metrics[seen.metrics.length - 1].text;
    expect(metric(lastDuring, 'bcb_database_up')).toBe(0);
    expect(metric(lastDuring, 'bcb_commands_age_seconds')).toBeGreaterThan(4);

    // --- Recovery -------------------------------------------------------
    expect(apiBackMs).toBeLessThan(15_000);
    expect(drainedMs).toBeLessThan(20_000);
    // A scrape serves what it has and asks for a fresh count: fresh again within seconds.
    await waitFor(
      async () => {
        const now = (await t.http().get('/metrics').expect(200)).text;
        return metric(now, 'bcb_database_up') === 1 && metric(now, 'bcb_commands_age_seconds') < 3;
      },
      5000,
      'bcb_commands counted again',
    );

    // --- Accounting -----------------------------------------------------
    const d = delta(base, after);
    expect(unaccounted(after)).toBe(0);
    // Every message the fleet published reached the service and has one outcome.
    expect(load.failed).toBe(0);
    expect(d.received).toBe(load.sent);
    expect(d.rejected).toEqual({});
    // Telemetry of registered devices is only ever lost to the buffer cap, counted.
    expect(Object.keys(d.dropped).filter((r) => r !== 'buffer_full')).toEqual([]);
    expect(d.accepted + (d.dropped.buffer_full ?? 0)).toBe(d.received);
    const rows = rowCounts(t);
    const grown = (k: string) => (rows.dropped[k] ?? 0) - (rowsBase.dropped[k] ?? 0);
    expect(rows.buffered).toBe(0);
    expect(grown('buffer_full')).toBe(LINES * (d.dropped.buffer_full ?? 0));
    // Accepted rows were all written: none given up, none double-counted.
    expect(grown('batch_failed') + grown('shutdown')).toBe(0);
    expect(rows.stored - rowsBase.stored + (rows.duplicate - rowsBase.duplicate)).toBe(
      LINES * d.accepted,
    );
    const [{ n }] = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM telemetry
        WHERE sn = ANY($1) AND ts BETWEEN to_timestamp($2) AND to_timestamp($3)`,
      [sns, load.firstTs, load.lastTs],
    );
    expect(n).toBe(LINES * d.accepted);
    return { d, seen, apiBackMs, drainedMs };
  }

  it('stopped for 10 s: 503 at once, /metrics from memory, nothing lost unaccounted, back within seconds', async () => {
    const r = await underLoad(
      {
        apply: () => pg!.stop(),
        repair: () => pg!.resume(),
      },
      2000,
    );
    report('stopped', r);
  }, 180_000);

  it('frozen (SIGSTOP) for 10 s: 503 within 5 s, never a hang, /metrics from memory, back within seconds', async () => {
    const r = await underLoad(
      {
        apply: () => Promise.resolve(pg!.freeze()),
        repair: () => Promise.resolve(pg!.thaw()),
      },
      5000,
    );
    report('frozen', r);
  }, 180_000);
});

function report(
  what: string,
  r: {
    d: ReturnType<typeof delta>;
    seen: { rest: Answer[]; metrics: Answer[]; health: Answer[]; peakBuffered: number };
    apiBackMs: number;
    drainedMs: number;
  },
): void {
  const max = (as: Answer[]) => Math.round(Math.max(...as.map((a) => a.ms)));
  process.stdout.write(
    `[faults-database] ${what}: REST 503 in max ${max(r.seen.rest)} ms (${r.seen.rest.length} requests), ` +
      `/metrics max ${max(r.seen.metrics)} ms, /health max ${max(r.seen.health)} ms, ` +
      `buffer peak ${r.seen.peakBuffered}/${BUFFER_CAP} rows, API back after ${Math.round(r.apiBackMs)} ms, ` +
      `backlog written after ${Math.round(r.drainedMs)} ms, messages ${JSON.stringify(r.d)}\n`,
  );
}
