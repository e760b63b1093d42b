import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './free-port';
import { findMosquitto } from './mosquitto';
import { startCluster, stopCluster } from './pg-cluster';

/**
 * Parts a fault test may break: a PostgreSQL and a broker of its own (never
 * the machine's shared ones), and the service as a separate process, so they
 * can be stopped, frozen with SIGSTOP, killed and started again under load.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

/** A PostgreSQL cluster in a temporary directory, on a port of its own. */
export class OwnPostgres {
  private running = false;
  private frozen: number[] = [];

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'bcb-fault-pg-'));
    chmodSync(dir, 0o755);
    const pg = new OwnPostgres(dir, await freePort());
    await pg.resume();
    return pg;
  }

  get url(): string {
    const password = readFileSync(join(this.dir, 'postgres.password'), 'utf8').trim();
    return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${this.port}/postgres`;
  }

  /** Every process of the cluster: the postmaster and its children. */
  pids(): number[] {
    const postmaster = Number(
      readFileSync(join(this.dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
      .toString()
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
    return [postmaster, ...children];
  }

  /** Stops every process of the server where it stands: connections stay open and hang. */
  freeze(): void {
    this.frozen = this.pids();
    for (const pid of this.frozen) process.kill(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // exited meanwhile
      }
    }
    this.frozen = [];
  }

  /** A fast shutdown: connections are cut, the port closes. */
  async stop(): Promise<void> {
    this.thaw();
    if (!this.running) return;
    await stopCluster(this.dir);
    this.running = false;
  }

  async resume(): Promise<void> {
    await startCluster(this.dir, this.port);
    this.running = true;
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A mosquitto 2 on a port of its own, anonymous, no persistence: a broker to restart. */
export class OwnMosquitto {
  private child?: ChildProcess;
  log = '';

  private constructor(
    readonly port: number,
    private readonly conf: string,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** `extra`: further mosquitto.conf lines (they win over the defaults above them). */
  static async start(extra: string[] = []): Promise<OwnMosquitto> {
    const bin = findMosquitto();
    if (!bin) throw new Error('mosquitto is not installed (.ci/run installs it)');
    const dir = mkdtempSync(join(tmpdir(), 'bcb-fault-mqtt-'));
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'allow_anonymous true',
        // A shared subscription must not lose messages to a slow consumer's queue limit in tests.
        'max_queued_messages 100000',
        ...extra,
        `listener ${port} 127.0.0.1`,
        '',
      ].join('\n'),
    );
    const m = new OwnMosquitto(port, conf, dir);
    await m.resume();
    return m;
  }

  async resume(): Promise<void> {
    const child = spawn(findMosquitto()!, ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    await until(
      async () => child.exitCode === null && (await portOpen(this.port)),
      10_000,
      `mosquitto on ${this.port}:\n${this.log}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    await until(async () => !(await portOpen(this.port)), 5000, 'mosquitto port closed');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The service as `npm start` runs it, in a process of its own (compiled on
 * the fly by ts-node), so it can be SIGKILLed and started again.
 */
export class ServiceProcess {
  output = '';
  readonly url: string;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static async start(env: Record<string, string>, timeoutMs = 90_000): Promise<ServiceProcess> {
    const port = await freePort();
    // An empty settings file: a developer's own .env must not leak into the test.
    const envFile = join(mkdtempSync(join(tmpdir(), 'bcb-fault-env-')), 'empty.env');
    writeFileSync(envFile, '');
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', '..', 'src', 'main.ts')],
      {
        cwd: join(__dirname, '..', '..'),
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          ENV_FILE: envFile,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          NO_COLOR: '1',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const s = new ServiceProcess(child, port);
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`service exited:\n${s.output}`);
        return /is running/.test(s.output);
      },
      timeoutMs,
      `service start:\n${s.output}`,
    );
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resident memory in MiB, from /proc. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`service still running ${timeoutMs} ms after ${signal}:\n${this.output}`),
          ),
        timeoutMs,
      );
      this.child.once('exit', () => resolve());
    });
    this.child.kill(signal);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
