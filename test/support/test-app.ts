import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import { ConcentratorOptions, SimulatedConcentrator } from '../../tools/simulator/concentrator';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import type { EmbeddedBrokerAuth } from '../../src/embedded/broker-auth';
import { TelemetryWriter } from '../../src/telemetry/telemetry-writer.service';
import { LatestStore } from '../../src/telemetry/latest-store.service';
import { ConcentratorRegistry } from '../../src/concentrators/concentrator-registry.service';
import { DeviceHistory } from '../../src/concentrators/device-history.service';
import { RejectionsService } from '../../src/ingestion/rejections.service';

export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.E2E_DATABASE_URL;
  if (!url) throw new Error('E2E_DATABASE_URL not set: run through jest (globalSetup)');
  return url;
}

/** One statement on the server's admin database; the client is closed whatever happens. */
async function adminQuery(sql: string): Promise<void> {
  // A server that does not answer fails the hook instead of hanging it.
  const admin = new Client({ connectionString: adminUrl(), connectionTimeoutMillis: 10_000 });
  try {
    await admin.connect();
    await admin.query(sql);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** A fresh database per test file: files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `bcb_e2e_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  root: string;
  mqttUrl: string;
  db: TestDatabase;
  /** supertest with the admin token preset */
  api(): TestAgent;
  http(): ReturnType<typeof request>;
  /**
   * Writes buffered telemetry, latest state, last-seen and rejections now, and
   * waits for the registry's background writes (online/offline flags and their
   * event rows, discovery and clock events) started so far, and for the counts
   * of coalesced repeats to reach their event rows.
   */
  flush(): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Registers a managed concentrator through the API (expects 201); returns its serial. */
  register(sn?: string, extra?: Record<string, unknown>): Promise<string>;
  /** A simulated concentrator on this app's broker and topic root (not started; stopped on close). */
  simulator(opts?: Partial<ConcentratorOptions>): SimulatedConcentrator;
  /** Stops its simulators, closes the app and drops its database; calling it again waits for the first call. */
  close(): Promise<void>;
}

type TestAgent = {
  get(url: string): request.Test;
  post(url: string): request.Test;
  put(url: string): request.Test;
  patch(url: string): request.Test;
  delete(url: string): request.Test;
};

export interface BootOptions {
  env?: Record<string, string>;
  db?: TestDatabase;
  root?: string;
  /** The gate of an embedded broker this test started, for the app to install device checks into. */
  brokerAuth?: EmbeddedBrokerAuth;
}

/** Boots the real app (real PostgreSQL, real broker) the way main does. */
export async function bootTestApp(opts: BootOptions = {}): Promise<TestApp> {
  const db = opts.db ?? (await createTestDatabase());
  const root = opts.root ?? `e2e${randomBytes(4).toString('hex')}/devs`;
  const mqttUrl = process.env.E2E_MQTT_URL!;
  const config = loadConfig({
    DATABASE_URL: db.url,
    MQTT_URL: mqttUrl,
    MQTT_TOPIC_ROOT: root,
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    INGEST_FLUSH_MS: '50',
    LATEST_FLUSH_MS: '100',
    DATA_DIR: '/tmp/bcb-e2e-data',
    // Tests poll the API far faster than a dashboard; test/access.e2e-spec.ts sets low limits.
    RATE_LIMIT_PER_MIN: '1000000',
    RATE_LIMIT_COMMANDS_PER_MIN: '1000000',
    RATE_LIMIT_AUTH_FAILURES_PER_MIN: '1000000',
    ...opts.env,
  });
  let moduleRef: TestingModule | undefined;
  let app: INestApplication | undefined;
  let pg: Client | undefined;
  try {
    moduleRef = await Test.createTestingModule({
      imports: [AppModule.register(config, { brokerAuth: opts.brokerAuth })],
    }).compile();
    app = moduleRef.createNestApplication({
      bodyParser: false,
      logger: ['error', 'warn'],
      // A test that failed half-way may leave a stream or a request open; close() must not wait for it.
      forceCloseConnections: true,
    });
    await configureApp(app);
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer();
    await waitFor(
      async () => (await request(server).get('/health')).status === 200,
      15000,
      'app healthy',
    );
    pg = new Client({ connectionString: db.url, connectionTimeoutMillis: 10_000 });
    // A test that stops its own database cuts this reader too: its queries fail, the test goes on.
    pg.on('error', () => undefined);
    await pg.connect();
  } catch (err) {
    // A half-booted app holds a listening server, a broker connection and a pool: close them,
    // or they keep Jest from exiting after the failure.
    await pg?.end().catch(() => undefined);
    await (app ?? moduleRef)?.close().catch(() => undefined);
    if (!opts.db) await db.drop().catch(() => undefined);
    throw err;
  }
  return testApp(app, pg, config, root, mqttUrl, db, opts);
}

function testApp(
  app: INestApplication,
  pg: Client,
  config: AppConfig,
  root: string,
  mqttUrl: string,
  db: TestDatabase,
  opts: BootOptions,
): TestApp {
  const server = app.getHttpServer();
  const simulators: SimulatedConcentrator[] = [];
  let closing: Promise<void> | undefined;
  const close = async () => {
    // Every step runs even if an earlier one failed: each holds a handle of its own.
    for (const d of simulators) await d.stop().catch(() => undefined);
    const results = await Promise.allSettled([pg.end(), app.close()]);
    if (!opts.db) await db.drop();
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  };
  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  return {
    app,
    config,
    root,
    mqttUrl,
    db,
    http: () => request(server),
    api: () => ({
      get: (u) => auth(request(server).get(u)),
      post: (u) => auth(request(server).post(u)),
      put: (u) => auth(request(server).put(u)),
      patch: (u) => auth(request(server).patch(u)),
      delete: (u) => auth(request(server).delete(u)),
    }),
    async flush() {
      await app.get(TelemetryWriter).drain();
      await app.get(LatestStore).flush();
      await app.get(ConcentratorRegistry).drain();
      await app.get(DeviceHistory).flush();
      await app.get(ConcentratorRegistry).flushSeen();
      await app.get(RejectionsService).flush();
    },
    async query<T>(sql: string, params?: unknown[]) {
      return (await pg.query(sql, params)).rows as T[];
    },
    async register(sn = newSerial(), extra = {}) {
      const res = await auth(request(server).post('/api/v1/concentrators')).send({
        sn,
        name: `dev ${sn}`,
        ...extra,
      });
      if (res.status !== 201)
        throw new Error(`register ${sn}: ${res.status} ${JSON.stringify(res.body)}`);
      return sn;
    },
    simulator(o = {}) {
      const d = new SimulatedConcentrator({
        // The app's own broker (a test may boot an app on a broker of its own).
        brokerUrl: config.mqtt.url!,
        sn: newSerial(),
        topicRoot: root,
        intervalMs: 0,
        ...o,
      });
      simulators.push(d);
      return d;
    },
    // Idempotent: a test's own cleanup and the file's afterAll may both call it.
    close: () => (closing ??= close()),
  };
}

/**
 * Polls until `check` holds. The deadline is what a loaded 2-core CI machine
 * needs, not what a fast laptop needs; keep it below the test's own timeout so
 * the failure names what was awaited.
 */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs` (the timer does not outlive it). */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Distinct serials per test (the broker may be shared with other runs). */
export function newSerial(): string {
  return '2026' + String(randomBytes(4).readUInt32BE(0) % 100000000).padStart(8, '0');
}
