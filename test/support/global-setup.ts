import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { startEmbeddedBroker } from '../../src/embedded/embedded-broker';
import { startEmbeddedPostgres } from '../../src/embedded/embedded-postgres';
import { freePort } from './free-port';

/**
 * Real services for the e2e suite: the ones named by DATABASE_URL / MQTT_URL
 * (CI runs the suite once more against the machine's PostgreSQL and
 * mosquitto), else an embedded PostgreSQL and an aedes broker on free ports.
 */
export default async function globalSetup(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const stops: (() => Promise<void>)[] = [];
  if (!process.env.DATABASE_URL) {
    const dir = await mkdtemp(join(tmpdir(), 'bcb-e2e-'));
    const pg = await startEmbeddedPostgres(dir, await freePort());
    stops.push(() => pg.stop());
    process.env.E2E_DATABASE_URL = pg.url;
  } else {
    process.env.E2E_DATABASE_URL = process.env.DATABASE_URL;
  }
  if (!process.env.MQTT_URL) {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort() });
    stops.push(() => broker.close());
    process.env.E2E_MQTT_URL = broker.url;
  } else {
    process.env.E2E_MQTT_URL = process.env.MQTT_URL;
  }
  (globalThis as { __e2eStops?: typeof stops }).__e2eStops = stops;
  console.log(
    `\ne2e services: database ${process.env.DATABASE_URL ? 'external' : 'embedded'}, broker ${process.env.E2E_MQTT_URL}`,
  );
}
