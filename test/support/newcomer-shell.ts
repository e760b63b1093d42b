import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { envSchema } from '../../src/config/env.schema';

/**
 * The test runner's environment without the service's own settings: a
 * newcomer has none of them set. CI's second pass exports DATABASE_URL and
 * MQTT_URL for the machine's services, which `npm start` would otherwise use
 * (and cannot reach from the test's network namespace).
 */
function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [...Object.keys(envSchema.shape), 'E2E_DATABASE_URL', 'E2E_MQTT_URL'])
    delete env[key];
  return { ...env, ...extra };
}

/**
 * A newcomer's machine, as far as a test can make one: a copy of this
 * checkout (tracked and new files, no build, no data) and, when the test runs
 * as root, a network namespace of its own, so the README's default ports
 * (3000, 1883, 54329) are free whatever runs on the host.
 */
export class NewcomerShell {
  readonly dir: string;
  private holder?: ChildProcess;
  private readonly jobs: Job[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static create(checkout: string): NewcomerShell {
    const dir = mkdtempSync(join(tmpdir(), 'bcb-first-look-'));
    // Like a project directory: others may enter it (the embedded PostgreSQL runs as `postgres`).
    chmodSync(dir, 0o755);
    const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], {
      cwd: checkout,
    })
      .toString()
      .split('\0')
      .filter(Boolean);
    for (const f of files) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      try {
        cpSync(join(checkout, f), join(dir, f));
      } catch {
        // Deleted in the working tree but still tracked: a fresh clone would not have it either.
      }
    }
    // `npm install` already ran for this checkout; sharing its result keeps the test off the network.
    symlinkSync(join(checkout, 'node_modules'), join(dir, 'node_modules'));
    return new NewcomerShell(dir);
  }

  /** Enters a network namespace of its own when it can (root and util-linux). */
  isolateNetwork(): boolean {
    if (process.getuid?.() !== 0) return false;
    try {
      execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
    } catch {
      return false;
    }
    this.holder = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      try {
        this.run('ip link set lo up');
        return true;
      } catch {
        execFileSync('sleep', ['0.1']);
      }
    }
    throw new Error('could not bring up loopback in the test network namespace');
  }

  private argv(command: string): [string, string[]] {
    const bash = ['bash', '-c', command];
    if (!this.holder?.pid) return [bash[0], bash.slice(1)];
    return ['nsenter', ['-t', String(this.holder.pid), '-n', ...bash]];
  }

  /** Runs to completion; stdout, or throws with stderr. */
  run(command: string, env: Record<string, string> = {}): string {
    const [cmd, args] = this.argv(command);
    return execFileSync(cmd, args, {
      cwd: this.dir,
      env: newcomerEnv(env),
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
  }

  /** A command left running, as in a terminal of its own (its own process group). */
  start(command: string): Job {
    const [cmd, args] = this.argv(command);
    const child = spawn(cmd, args, {
      cwd: this.dir,
      env: newcomerEnv({ FORCE_COLOR: '0', NO_COLOR: '1' }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const job = new Job(command, child);
    this.jobs.push(job);
    return job;
  }

  /** The pid of the process running exactly `cmdline` in this copy, if any. */
  pidOf(cmdline: string): number | undefined {
    const line = this.leftovers().find((l) => l.slice(l.indexOf(' ') + 1) === cmdline);
    return line ? Number(line.split(' ')[0]) : undefined;
  }

  /** Processes whose command line names this copy: what must be gone after a stop. */
  leftovers(): string[] {
    const found: string[] = [];
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        continue;
      }
      if (cmdline.includes(this.dir) || cmdlineCwdIs(pid, this.dir, cmdline)) {
        found.push(`${pid} ${cmdline}`);
      }
    }
    return found;
  }

  /** Kills what a failed test left running, so the next one starts on free ports. */
  killAll(): void {
    for (const j of this.jobs.splice(0)) j.kill('SIGKILL');
    // Whatever a failed test left behind (a database server holds the copy's files).
    for (const line of this.leftovers()) {
      try {
        process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  close(): void {
    this.killAll();
    this.holder?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function cmdlineCwdIs(pid: string, dir: string, cmdline: string): boolean {
  if (!/node|npm|postgres/.test(cmdline)) return false;
  try {
    return execFileSync('readlink', [`/proc/${pid}/cwd`])
      .toString()
      .trim()
      .startsWith(dir);
  } catch {
    return false;
  }
}

export class Job {
  output = '';
  private exited?: number | null;
  private readonly exitWaiters: ((code: number | null) => void)[] = [];

  constructor(
    readonly command: string,
    readonly child: ChildProcess,
  ) {
    const add = (d: Buffer) => (this.output += d.toString());
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    child.on('exit', (code) => {
      this.exited = code;
      this.exitWaiters.splice(0).forEach((w) => w(code));
    });
  }

  get running(): boolean {
    return this.exited === undefined;
  }

  /** Like Ctrl-C in its terminal: the signal goes to the whole foreground group. */
  interrupt(): void {
    if (this.child.pid) process.kill(-this.child.pid, 'SIGINT');
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.running || !this.child.pid) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(pattern);
      if (m) return m;
      if (!this.running) {
        throw new Error(
          `"${this.command}" exited (${this.exited}) before ${pattern}:\n${this.output}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`"${this.command}": no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  waitForExit(timeoutMs: number): Promise<number | null> {
    if (!this.running) return Promise.resolve(this.exited ?? null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`"${this.command}" still running after ${timeoutMs} ms:\n${this.output}`),
          ),
        timeoutMs,
      );
      this.exitWaiters.push((code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }
}
