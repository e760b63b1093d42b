import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { startService } from '../../src/bootstrap';
import { IngestStats } from '../../src/ingestion/ingest-stats';
import { FlushedEvent, TelemetryWriter } from '../../src/telemetry/telemetry-writer.service';
import { snAt } from '../simulator/fleet';
import { COMPARE_DEFAULT_RATE, CompareLoad, runCompare } from './compare';
import { LoadDriver, inProcessDriver, workerDriver } from './driver';
import { LoadOptions, LoadResult } from './load';
import { LatencyTracker, RssSampler, wallMs } from './stats';
import { fmt, freePort, freshSnStart, sleep } from './util';

const TARGET_ROWS_PER_S = 50_000;

function parse() {
  const { values: a } = parseArgs({
    options: {
      devices: { type: 'string', default: '200' },
      duration: { type: 'string', default: '30' },
      lines: { type: 'string', default: '8' },
      'backfill-h': { type: 'string', default: '6' },
      settle: { type: 'string', default: '30' },
      rate: { type: 'string' },
      password: { type: 'string' },
      'in-process': { type: 'boolean', default: false },
      compare: { type: 'boolean', default: false },
      loads: { type: 'string', default: 'paced,unpaced' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (a.help) {
    console.log(`npm run bench -- [--devices 200] [--duration 30] [--lines 8] [--backfill-h 6]
  [--settle 30] [--rate MSGS_PER_S] [--password P] [--in-process]
  [--compare [--loads paced,unpaced]]
Starts the service (honours DATABASE_URL / MQTT_URL, else embedded PostgreSQL
and broker), floods it with telemetry from simulated concentrators and reports
throughput, loss and publish->stored latency. Unpaced (default), latency is
mostly queueing behind the bottleneck; --rate paces the fleet to measure it at
a sustainable load. --in-process runs the simulator on the service's thread.

--compare runs a minimal pipeline (mqtt.js, JSON.parse, serial check, COPY)
and the service, each in a child process of its own, one after the other
against the same broker, database and fleet, paced at --rate (default
${COMPARE_DEFAULT_RATE} msgs/s) and unpaced (--loads picks), and prints stored
rows/s, stored fraction, CPU per stored row of the ingester and of PostgreSQL,
and peak RSS side by side with their ratios.`);
    process.exit(0);
  }
  const loads = a.loads.split(',').map((l) => l.trim());
  for (const l of loads) {
    if (l !== 'paced' && l !== 'unpaced')
      throw new Error(`--loads: paced and/or unpaced, not ${l}`);
  }
  return {
    devices: Number(a.devices),
    durationS: Number(a.duration),
    lines: Number(a.lines),
    backfillS: Number(a['backfill-h']) * 3600,
    settleS: Number(a.settle),
    rate: a.rate === undefined ? undefined : Number(a.rate),
    password: a.password,
    inProcess: a['in-process'],
    compare: a.compare,
    loads: loads as CompareLoad[],
  };
}

/** Service overrides: ports and data that cannot collide with a dev instance on this machine. */
async function serviceEnv(): Promise<{ env: Record<string, string>; tmpDir?: string }> {
  const e = process.env;
  const env: Record<string, string> = {
    AUTO_ADOPT: 'true',
    LOG_LEVEL: e.LOG_LEVEL ?? 'warn',
    PORT: e.PORT ?? '0',
  };
  if (!e.MQTT_URL) {
    env.EMBEDDED_MQTT_PORT = e.EMBEDDED_MQTT_PORT ?? '0';
    // The embedded broker authenticates; bench devices have no passwords, so let them enrol.
    env.OPEN_ENROLLMENT = e.OPEN_ENROLLMENT ?? 'true';
  }
  let tmpDir: string | undefined;
  if (!e.DATABASE_URL) {
    if (!e.DATA_DIR) env.DATA_DIR = tmpDir = await mkdtemp(path.join(os.tmpdir(), 'bench-'));
    env.EMBEDDED_PG_PORT = e.EMBEDDED_PG_PORT ?? String(await freePort());
  }
  return { env, tmpDir };
}

/** Waits until ingestion has gone quiet (nothing buffered, nothing new received) for a second. */
async function settle(stats: IngestStats, writer: TelemetryWriter, maxS: number): Promise<void> {
  const until = Date.now() + maxS * 1000;
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() < until) {
    const received = stats.snapshot().received;
    if (received !== last || writer.bufferedRows > 0) quietSince = Date.now();
    if (Date.now() - quietSince >= 1000) break;
    last = received;
    await sleep(100);
  }
  await writer.drain();
}

async function countRows(databaseUrl: string, first: string, last: string): Promise<number> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const r = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM telemetry WHERE sn BETWEEN $1 AND $2',
      [first, last],
    );
    return Number(r.rows[0].n);
  } finally {
    await db.end();
  }
}

async function main(): Promise<void> {
  const o = parse();
  if (o.compare) {
    return runCompare({ ...o, rate: o.rate ?? COMPARE_DEFAULT_RATE });
  }
  const rss = new RssSampler(250);
  const { env, tmpDir } = await serviceEnv();
  console.log('starting service...');
  // Spread, not pass alone: startService reads only the object it is given.
  const service = await startService({ ...process.env, ...env });
  let driver: LoadDriver | undefined;
  const cleanup = async () => {
    await driver?.stop().catch(() => undefined);
    await service.close();
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    console.log('interrupted; cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    const writer = service.app.get(TelemetryWriter);
    const stats = service.app.get(IngestStats);
    const snStart = freshSnStart();
    const snLast = snAt(snStart, o.devices - 1);
    const isBench = (sn: string) => sn >= snStart && sn <= snLast;
    const latency = new LatencyTracker();
    let flushedRows = 0;
    let flushedInserted = 0;
    let lastBenchFlush = 0;
    writer.on('flushed', (e: FlushedEvent) => {
      const t = wallMs();
      flushedRows += e.rows;
      flushedInserted += e.inserted;
      for (const m of e.messages) {
        if (m.seq === undefined || !isBench(m.sn)) continue;
        latency.stored(m.sn, m.seq, t);
        lastBenchFlush = t;
      }
    });

    const load: LoadOptions = {
      brokerUrl: service.mqttUrl,
      devices: o.devices,
      lines: o.lines,
      durationMs: o.durationS * 1000,
      snStart,
      password: o.password,
      topicRoot: process.env.MQTT_TOPIC_ROOT,
      backfillS: o.backfillS,
      rate: o.rate ?? 0,
    };
    const onSent = (b: { sn: string[]; seq: number[]; t: number[] }) => {
      for (let i = 0; i < b.sn.length; i++) latency.published(b.sn[i], b.seq[i], b.t[i]);
    };
    driver = o.inProcess ? inProcessDriver(load, onSent) : workerDriver(load, onSent);
    const connected = await driver.ready;
    console.log(
      `${connected} concentrators (${snStart}..${snLast}) connected to ${service.mqttUrl}; ` +
        `publishing for ${o.durationS} s...`,
    );
    await sleep(1000); // let config_request / adoption traffic pass before measuring
    const before = stats.snapshot();
    const duplicatesBefore = writer.duplicates;
    const result = await driver.run();
    await settle(stats, writer, o.settleS);
    const after = stats.snapshot();
    const dbRows = await countRows(service.databaseUrl, snStart, snLast);
    report(o, result, {
      dbRows,
      flushedRows,
      flushedInserted,
      lastBenchFlush,
      received: after.received - before.received,
      dropped: after.dropped - before.dropped,
      rejected: diff(after.rejected, before.rejected),
      duplicates: writer.duplicates - duplicatesBefore,
      latency,
      peakRss: rss.stop(),
      storage: process.env.DATABASE_URL ? 'external PostgreSQL' : 'embedded PostgreSQL',
    });
  } finally {
    await cleanup();
  }
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0)) out[k] = v - (b[k] ?? 0);
  return out;
}

interface Measured {
  dbRows: number;
  flushedRows: number;
  flushedInserted: number;
  lastBenchFlush: number;
  received: number;
  dropped: number;
  rejected: Record<string, number>;
  duplicates: number;
  latency: LatencyTracker;
  peakRss: number;
  storage: string;
}

function verdict(stored: number, offered: number): string {
  if (stored >= TARGET_ROWS_PER_S) return 'PASS';
  // A paced run below the target cannot show the capacity, only the latency.
  if (offered < TARGET_ROWS_PER_S) return `not measured (only ${fmt(offered)} rows/s offered)`;
  return 'FAIL';
}

function report(o: ReturnType<typeof parse>, r: LoadResult, m: Measured): void {
  const pubS = (r.endedAt - r.startedAt) / 1000;
  const storeS = (Math.max(m.lastBenchFlush, r.endedAt) - r.startedAt) / 1000;
  const offered = r.telemetry * o.lines;
  const rejectedMsgs = Object.values(m.rejected).reduce((s, v) => s + v, 0);
  // Messages the broker never delivered (mosquitto drops QoS 0 traffic for a
  // subscriber that falls behind); all but the boot config_requests are telemetry.
  const notDelivered = Math.max(0, r.allMessages - m.received);
  const unaccounted =
    offered - m.dbRows - m.dropped - rejectedMsgs * o.lines - m.duplicates - notDelivered * o.lines;
  const rate = m.dbRows / storeS;
  const lat = m.latency.summary();
  const lines = [
    '',
    `=== bench: ${o.devices} devices x ${o.lines} lines, ${o.durationS} s, ` +
      `${o.rate ? `paced at ${fmt(o.rate)} msgs/s` : 'unpaced'}, ${m.storage} ===`,
    `published    ${fmt(r.telemetry)} telemetry msgs in ${fmt(pubS, 1)} s = ${fmt(r.telemetry / pubS)} msgs/s` +
      ` (${fmt(offered)} line-rows offered; ${fmt(r.errors)} publish errors)`,
    `received     ${fmt(m.received)} msgs of all types by the service (devices sent ${fmt(r.allMessages)} since boot)`,
    `stored (DB)  ${fmt(m.dbRows)} rows for the bench serials = ${fmt(rate)} line-rows/s` +
      ` (first publish -> last flush, ${fmt(storeS, 1)} s)`,
    `flushed      ${fmt(m.flushedInserted)} rows inserted of ${fmt(m.flushedRows)} submitted, all serials` +
      ` = ${fmt(m.flushedInserted / storeS)} rows/s`,
    `not received ${fmt(notDelivered)} msgs sent by devices but never delivered by the broker`,
    `dropped      ${fmt(m.dropped)} rows (IngestStats.dropped: buffer full or batch given up)`,
    `rejected     ${fmt(rejectedMsgs)} msgs ${JSON.stringify(m.rejected)}`,
    `duplicates   ${fmt(m.duplicates)} rows (same sn/line/ts, skipped by the insert)`,
    `unaccounted  ${fmt(unaccounted)} rows = published*${o.lines} - DB rows - dropped rows` +
      ` - rejected msgs*${o.lines} - duplicate rows - not received*${o.lines}`,
    `latency      publish->stored p50 ${fmt(lat.p50, 1)} ms, p99 ${fmt(lat.p99, 1)} ms,` +
      ` max ${fmt(lat.max, 1)} ms (${fmt(lat.count)} msgs matched, ${fmt(m.latency.unmatched)} never stored)`,
    `peak RSS     ${fmt(m.peakRss / 2 ** 20)} MiB (service + simulator threads; PostgreSQL excluded)`,
    `target       >= ${fmt(TARGET_ROWS_PER_S)} stored line-rows/s: ${verdict(rate, offered / pubS)}`,
  ];
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
