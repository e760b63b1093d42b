import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { startEmbeddedBroker } from '../../src/embedded/embedded-broker';
import { startEmbeddedPostgres } from '../../src/embedded/embedded-postgres';
import { snAt } from '../simulator/fleet';
import { BrokerDropCounter, DROPPED_TOPIC } from './broker-sys';
import { LoadDriver, inProcessDriver, workerDriver } from './driver';
import { IngesterProcess, IngesterSnapshot } from './ingester-ipc';
import { LoadOptions, LoadResult } from './load';
import { PgServerCpu, peakRssBytes, processCpuUs } from './proc';
import { transpileForNode } from './transpile';
import { fmt, freePort, freshSnStart, sleep } from './util';

/** The paced load of issue 9's measurements: 6,500 msgs/s = 52,000 line-rows/s offered. */
export const COMPARE_DEFAULT_RATE = 6500;
export type CompareLoad = 'paced' | 'unpaced';
type Side = 'minimal' | 'service';
const SIDES: Side[] = ['minimal', 'service'];

export const MINIMAL_SCHEMA = 'bench_minimal';
export const MINIMAL_TABLE = `${MINIMAL_SCHEMA}.telemetry`;

export interface CompareOptions {
  devices: number;
  durationS: number;
  lines: number;
  backfillS: number;
  settleS: number;
  /** msgs/s of the paced load. */
  rate: number;
  loads: CompareLoad[];
  password?: string;
  inProcess: boolean;
}

interface Infra {
  databaseUrl: string;
  mqttUrl: string;
  describe: string;
  stop(): Promise<void>;
}

/**
 * The broker and database both sides share: DATABASE_URL / MQTT_URL, or an
 * embedded PostgreSQL (its own processes) and an aedes broker on the bench's
 * main thread. Not inside the service as `npm start` would have them: the
 * broker's CPU and memory would then count as the service's.
 */
async function startInfra(): Promise<Infra> {
  const e = process.env;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: Error) => console.error(err.message));
  };
  try {
    let databaseUrl = e.DATABASE_URL;
    let mqttUrl = e.MQTT_URL;
    const parts: string[] = [];
    if (!databaseUrl) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-compare-'));
      stops.push(() => rm(dir, { recursive: true, force: true }));
      console.log('starting embedded PostgreSQL...');
      const pg = await startEmbeddedPostgres(dir, await freePort());
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
      parts.push('embedded PostgreSQL');
    } else parts.push('PostgreSQL at DATABASE_URL');
    if (!mqttUrl) {
      const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
      stops.push(() => broker.close());
      mqttUrl = broker.url;
      parts.push("aedes on the bench's main thread");
    } else parts.push('broker at MQTT_URL');
    return { databaseUrl, mqttUrl, describe: parts.join(', '), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The minimal pipeline's table: telemetry's columns, types and primary key,
 * range-partitioned by UTC day like telemetry (with a default partition), over
 * the days a bench's device times can fall in.
 */
async function createMinimalTable(db: Client, backfillS: number): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${MINIMAL_SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${MINIMAL_SCHEMA}`);
  await db.query(`
    CREATE TABLE ${MINIMAL_TABLE} (
      sn text NOT NULL,
      line smallint NOT NULL,
      ts timestamptz NOT NULL,
      received_at timestamptz NOT NULL,
      is_on boolean,
      voltage_v real,
      current_a real,
      power_w real,
      reactive_var real,
      pf real,
      freq_hz real,
      energy_kwh double precision,
      leakage_ma real,
      temp_c real,
      PRIMARY KEY (sn, line, ts)
    ) PARTITION BY RANGE (ts)`);
  await db.query(`CREATE TABLE ${MINIMAL_TABLE}_default PARTITION OF ${MINIMAL_TABLE} DEFAULT`);
  const day = (offset: number) =>
    new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const back = Math.ceil(backfillS / 86_400) + 1;
  for (let d = -back; d <= 2; d++) {
    await db.query(
      `CREATE TABLE ${MINIMAL_TABLE}_${day(d).replaceAll('-', '')} PARTITION OF ${MINIMAL_TABLE}
         FOR VALUES FROM ('${day(d)} 00:00:00+00') TO ('${day(d + 1)} 00:00:00+00')`,
    );
  }
}

/**
 * Between runs: vacuum what the last run wrote and checkpoint, so that neither
 * autovacuum nor a checkpoint caused by one side runs (and is counted) during
 * the other side's run.
 */
async function quiesce(db: Client): Promise<void> {
  for (const table of [MINIMAL_TABLE, 'telemetry']) {
    const r = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
    if (r.rows[0].t) await db.query(`VACUUM (ANALYZE) ${table}`);
  }
  await db.query('CHECKPOINT').catch(() => undefined);
}

interface Ctx {
  o: CompareOptions;
  infra: Infra;
  db: Client;
  pgCpu?: PgServerCpu;
  sys: BrokerDropCounter;
  topicRoot: string;
  scripts: Record<Side, string>;
}

interface Run {
  side: Side;
  load: CompareLoad;
  r: LoadResult;
  snap: IngesterSnapshot;
  dbRows: number;
  ingesterCpuUs: number;
  pgCpuUs?: number;
  windowUs: number;
  peakRss: number;
  brokerDropped?: number;
}

function childEnv(ctx: Ctx, side: Side): NodeJS.ProcessEnv {
  const e = process.env;
  if (side === 'minimal') {
    return {
      ...e,
      BENCH_MQTT_URL: ctx.infra.mqttUrl,
      BENCH_DATABASE_URL: ctx.infra.databaseUrl,
      BENCH_TOPIC_ROOT: ctx.topicRoot,
      BENCH_MINIMAL_TABLE: MINIMAL_TABLE,
    };
  }
  return {
    ...e,
    DATABASE_URL: ctx.infra.databaseUrl,
    MQTT_URL: ctx.infra.mqttUrl,
    MQTT_TOPIC_ROOT: ctx.topicRoot,
    AUTO_ADOPT: 'true',
    LOG_LEVEL: e.LOG_LEVEL ?? 'warn',
    PORT: e.PORT ?? '0',
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runOne(ctx: Ctx, side: Side, load: CompareLoad, snStart: string): Promise<Run> {
  const { o, db } = ctx;
  const snLast = snAt(snStart, o.devices - 1);
  await quiesce(db);
  const label = `${load} ${side}`;
  const ingester = new IngesterProcess(side, ctx.scripts[side], childEnv(ctx, side));
  let driver: LoadDriver | undefined;
  try {
    const detail = await withTimeout(ingester.ready, 180_000, `${side} start`);
    console.log(`[${label}] pid ${ingester.pid}: ${detail}`);
    const loadOpts: LoadOptions = {
      brokerUrl: ctx.infra.mqttUrl,
      devices: o.devices,
      lines: o.lines,
      durationMs: o.durationS * 1000,
      snStart,
      password: o.password,
      topicRoot: ctx.topicRoot,
      backfillS: o.backfillS,
      rate: load === 'paced' ? o.rate : 0,
    };
    const onSent = () => undefined;
    driver = o.inProcess ? inProcessDriver(loadOpts, onSent) : workerDriver(loadOpts, onSent);
    const connected = await driver.ready;
    await sleep(1000); // config_request / adoption traffic passes before measuring
    console.log(
      `[${label}] ${connected} concentrators (${snStart}..${snLast}); publishing for ${o.durationS} s...`,
    );
    const dropped0 = ctx.sys.current;
    const t0 = performance.now();
    const cpu0 = processCpuUs(ingester.pid);
    const pg0 = ctx.pgCpu?.totalUs();
    const r = await driver.run();
    const snap = await ingester.settle(o.settleS);
    const cpu1 = processCpuUs(ingester.pid);
    const pg1 = ctx.pgCpu?.totalUs();
    const windowUs = (performance.now() - t0) * 1000;
    const peakRss = peakRssBytes(ingester.pid);
    const dropped1 = await ctx.sys.fresh(15);
    const count = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${side === 'minimal' ? MINIMAL_TABLE : 'telemetry'} WHERE sn BETWEEN $1 AND $2`,
      [snStart, snLast],
    );
    return {
      side,
      load,
      r,
      snap,
      dbRows: Number(count.rows[0].n),
      ingesterCpuUs: cpu1 - cpu0,
      pgCpuUs: pg0 === undefined || pg1 === undefined ? undefined : pg1 - pg0,
      windowUs,
      peakRss,
      brokerDropped:
        dropped0 === undefined || dropped1 === undefined ? undefined : dropped1 - dropped0,
    };
  } finally {
    await driver?.stop().catch(() => undefined);
    await ingester.stop();
  }
}

interface Figures {
  pubRate: number;
  offered: number;
  stored: number;
  storedRate: number;
  fraction: number;
  ingesterUsPerRow: number;
  pgUsPerRow?: number;
  ingesterCores: number;
  pgCores?: number;
  peakRssMiB: number;
  rejectedMsgs: number;
  droppedRows: number;
  duplicateRows: number;
  notReceived: number;
  brokerDropped?: number;
  unaccounted: number;
}

function figures(run: Run, lines: number): Figures {
  const { r, snap } = run;
  const pubS = (r.endedAt - r.startedAt) / 1000;
  const storeS = (Math.max(snap.lastStoredAt, r.endedAt) - r.startedAt) / 1000;
  const offered = r.telemetry * lines;
  const rejectedMsgs = Object.values(snap.rejected).reduce((s, v) => s + v, 0);
  const droppedRows = snap.droppedMsgs * lines + snap.droppedRows;
  // The ingester is new for each run and so is the fleet: all it received came from this fleet.
  const notReceived = Math.max(0, r.allMessages - snap.received);
  const stored = run.dbRows;
  return {
    pubRate: r.telemetry / pubS,
    offered,
    stored,
    storedRate: stored / storeS,
    fraction: offered ? stored / offered : NaN,
    ingesterUsPerRow: run.ingesterCpuUs / stored,
    pgUsPerRow: run.pgCpuUs === undefined ? undefined : run.pgCpuUs / stored,
    ingesterCores: run.ingesterCpuUs / run.windowUs,
    pgCores: run.pgCpuUs === undefined ? undefined : run.pgCpuUs / run.windowUs,
    peakRssMiB: run.peakRss / 2 ** 20,
    rejectedMsgs,
    droppedRows,
    duplicateRows: snap.duplicateRows,
    notReceived,
    brokerDropped: run.brokerDropped,
    unaccounted:
      offered -
      stored -
      rejectedMsgs * lines -
      droppedRows -
      snap.duplicateRows -
      notReceived * lines,
  };
}

const pct = (x: number) => `${fmt(x * 100, 2)} %`;

function table(
  title: string,
  m: Figures | undefined,
  s: Figures | undefined,
  lines: number,
): string {
  type Row = [string, (f: Figures) => number | undefined, (n: number) => string, boolean];
  const n0 = (n: number) => fmt(n);
  const n1 = (n: number) => fmt(n, 1);
  const n2 = (n: number) => fmt(n, 2);
  const rows: Row[] = [
    ['published msgs/s', (f) => f.pubRate, n0, false],
    ['offered line-rows', (f) => f.offered, n0, false],
    ['stored line-rows', (f) => f.stored, n0, false],
    ['stored line-rows/s', (f) => f.storedRate, n0, true],
    ['stored fraction', (f) => f.fraction, pct, true],
    ['ingester CPU µs / stored row', (f) => f.ingesterUsPerRow, n1, true],
    ['PostgreSQL CPU µs / stored row', (f) => f.pgUsPerRow, n1, true],
    ['ingester CPU (cores)', (f) => f.ingesterCores, n2, true],
    ['PostgreSQL CPU (cores)', (f) => f.pgCores, n2, true],
    ['ingester peak RSS (MiB)', (f) => f.peakRssMiB, n0, true],
    ['rejected msgs', (f) => f.rejectedMsgs, n0, false],
    ['dropped by ingester (rows)', (f) => f.droppedRows, n0, false],
    ['duplicate rows', (f) => f.duplicateRows, n0, false],
    ['not received (msgs)', (f) => f.notReceived, n0, false],
    ['broker dropped ($SYS, msgs)', (f) => f.brokerDropped, n0, false],
    ['unaccounted rows', (f) => f.unaccounted, n0, false],
  ];
  const cell = (f: Figures | undefined, get: Row[1], show: Row[2]) => {
    if (!f) return 'not run';
    const v = get(f);
    return v === undefined || Number.isNaN(v) ? 'n/a' : show(v);
  };
  const W = [32, 13, 13, 8];
  const line = (c: string[]) =>
    c[0].padEnd(W[0]) +
    c
      .slice(1)
      .map((x, i) => x.padStart(W[i + 1]))
      .join('');
  const out = [line([title, 'minimal', 'service', 'ratio'])];
  for (const [label, get, show, ratio] of rows) {
    let r = '';
    if (ratio && m && s) {
      const a = get(m);
      const b = get(s);
      if (a !== undefined && b !== undefined && a !== 0 && Number.isFinite(b / a)) r = n2(b / a);
    }
    out.push(line([`  ${label}`, cell(m, get, show), cell(s, get, show), r]));
  }
  out.push(
    `  unaccounted = offered - stored - rejected*${lines} - dropped - duplicates - not received*${lines}` +
      ` (message counts taken as telemetry of ${lines} rows: a lost config_request shows as -${lines});` +
      '\n  broker dropped: its whole counter, other clients included; ratio = service / minimal',
  );
  return out.join('\n');
}

function verdicts(
  paced: Record<Side, Figures | undefined>,
  unpaced: Record<Side, Figures | undefined>,
) {
  const out: string[] = [];
  const check = (ok: boolean, text: string) => out.push(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  const pm = paced.minimal;
  const ps = paced.service;
  if (pm && ps) {
    if (pm.fraction >= 0.999) {
      check(ps.fraction >= 0.999, `paced: service stores >= 99.9 % (${pct(ps.fraction)})`);
    } else {
      out.push(
        `  n/a   paced: the minimal pipeline stored only ${pct(pm.fraction)}; lower --rate to a load it stores completely`,
      );
    }
    const cpu = ps.ingesterUsPerRow / pm.ingesterUsPerRow;
    check(cpu <= 1.3, `paced: service CPU per row <= 1.3 x minimal (${fmt(cpu, 2)} x)`);
    if (ps.pgUsPerRow !== undefined && pm.pgUsPerRow !== undefined) {
      const pg = ps.pgUsPerRow / pm.pgUsPerRow;
      check(pg <= 1, `paced: PostgreSQL CPU per row <= minimal's (${fmt(pg, 2)} x)`);
    }
    check(ps.peakRssMiB <= 256, `paced: service peak RSS <= 256 MiB (${fmt(ps.peakRssMiB)} MiB)`);
  }
  const um = unpaced.minimal;
  const us = unpaced.service;
  if (um && us) {
    const q = us.storedRate / um.storedRate;
    check(q >= 0.9, `unpaced: service stored rows/s >= 0.9 x minimal's (${fmt(q, 2)} x)`);
  }
  if (ps && us) {
    const q = us.storedRate / ps.storedRate;
    check(
      q >= 0.9,
      `unpaced: service stored rows/s >= 0.9 x its paced run's (${fmt(q, 2)} x; the paced rate is a lower bound of its capacity)`,
    );
  }
  return out;
}

export async function runCompare(o: CompareOptions): Promise<void> {
  // The embedded PostgreSQL and broker log through Nest's logger: only what matters.
  Logger.overrideLogger(['error', 'warn']);
  const root = path.resolve(__dirname, '../..');
  console.log('transpiling src/ and tools/bench/ for plain node...');
  const js = transpileForNode(root, ['src', 'tools/bench']);
  const scripts: Record<Side, string> = {
    minimal: path.join(js, 'tools/bench/minimal-ingester.js'),
    service: path.join(js, 'tools/bench/service-host.js'),
  };
  const infra = await startInfra();
  let db: Client | undefined;
  let sys: BrokerDropCounter | undefined;
  const cleanup = async () => {
    await db?.query(`DROP SCHEMA IF EXISTS ${MINIMAL_SCHEMA} CASCADE`).catch(() => undefined);
    await db?.end().catch(() => undefined);
    await sys?.close().catch(() => undefined);
    await infra.stop();
  };
  process.once('SIGINT', () => {
    console.log('interrupted; cleaning up');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    db = new Client({ connectionString: infra.databaseUrl, application_name: 'bench-compare' });
    await db.connect();
    const version = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
      .rows[0].v;
    const pgCpu = await PgServerCpu.of(db);
    await createMinimalTable(db, o.backfillS);
    sys = await BrokerDropCounter.connect(infra.mqttUrl, {
      username: process.env.MQTT_USERNAME,
      password: process.env.MQTT_PASSWORD,
    });
    // Each run's "after" waits for a $SYS refresh and is the next run's "before": the first needs one too.
    await sys.fresh(15);
    // A topic root of its own: nothing else on a shared broker mixes into the counts.
    const topicRoot = process.env.MQTT_TOPIC_ROOT ?? `bench-${process.pid}/devs`;
    const ctx: Ctx = {
      o,
      infra,
      db,
      pgCpu: typeof pgCpu === 'string' ? undefined : pgCpu,
      sys,
      topicRoot,
      scripts,
    };
    console.log(
      `compare: ${o.devices} devices x ${o.lines} lines, ${o.durationS} s per run, ` +
        `${o.loads.join(' and ')}; ${infra.describe}\n` +
        `  PostgreSQL ${version}; its CPU: ${typeof pgCpu === 'string' ? `n/a (${pgCpu})` : `postmaster ${pgCpu.postmasterPid} and its children, from /proc`}\n` +
        `  broker: ${sys.version ?? infra.mqttUrl}; ${DROPPED_TOPIC}: ${sys.available ? 'read before and after each run' : 'not published'}\n` +
        `  minimal pipeline: ${MINIMAL_TABLE}, partitioned by day like telemetry`,
    );
    const results: Partial<Record<CompareLoad, Record<Side, Figures | undefined>>> = {};
    let snStart = freshSnStart();
    for (const load of o.loads) {
      const sides: Record<Side, Figures | undefined> = { minimal: undefined, service: undefined };
      results[load] = sides;
      for (const side of SIDES) {
        const run = await runOne(ctx, side, load, snStart);
        snStart = snAt(snStart, o.devices);
        const f = figures(run, o.lines);
        sides[side] = f;
        console.log(`[${load} ${side}] stored ${fmt(f.stored)} of ${fmt(f.offered)} rows`);
      }
    }
    const out: string[] = [''];
    for (const load of o.loads) {
      const title = load === 'paced' ? `paced at ${fmt(o.rate)} msgs/s` : 'unpaced';
      const f = results[load]!;
      out.push(table(title, f.minimal, f.service, o.lines), '');
    }
    const none = { minimal: undefined, service: undefined };
    const v = verdicts(results.paced ?? none, results.unpaced ?? none);
    if (v.length) out.push('targets (issue 9):', ...v);
    console.log(out.join('\n'));
  } finally {
    await cleanup();
  }
}
