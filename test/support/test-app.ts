import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import request from 'supertest';
import { ConcentratorOptions, SimulatedConcentrator } from '../../tools/simulator/concentrator';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import type { EmbeddedBrokerAuth } from '../../src/embedded/broker-auth';
import { TelemetryWriter } from '../../src/telemetry/telemetry-writer.service';
import { LatestStore } from '../../src/telemetry/latest-store.service';
import { DeviceRegistry } from '../../src/devices/device-registry.service';
import { RejectionsService } from '../../src/rejections/rejections.service';

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

/** A fresh database per test file: files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `bcb_e2e_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
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
  /** Writes buffered telemetry, latest state, last-seen and rejections now. */
  flush(): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Registers a managed concentrator through the API (expects 201); returns its serial. */
  register(sn?: string, extra?: Record<string, unknown>): Promise<string>;
  /** A simulated concentrator on this app's broker and topic root (not started; stopped on close). */
  simulator(opts?: Partial<ConcentratorOptions>): SimulatedConcentrator;
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
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.register(config, { brokerAuth: opts.brokerAuth })],
  }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: ['error', 'warn'] });
  await configureApp(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer();
  await waitFor(
    async () => (await request(server).get('/health')).status === 200,
    15000,
    'app healthy',
  );

  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  const simulators: SimulatedConcentrator[] = [];
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
      await app.get(DeviceRegistry).flushSeen();
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
    async close() {
      for (const d of simulators) await d.stop().catch(() => undefined);
      await pg.end();
      await app.close();
      if (!opts.db) await db.drop();
    },
  };
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Distinct serials per test (the broker may be shared with other runs). */
export function newSerial(): string {
  return '2026' + String(randomBytes(4).readUInt32BE(0) % 100000000).padStart(8, '0');
}
