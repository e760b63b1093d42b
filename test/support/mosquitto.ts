import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const CANDIDATES = [process.env.MOSQUITTO_BIN, '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'];

/** The mosquitto broker binary, or undefined when it is not installed. */
export function findMosquitto(): string | undefined {
  for (const c of CANDIDATES) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export interface MosquittoOptions {
  bin: string;
  dir: string;
  port: number;
  certFile: string;
  keyFile: string;
  passwordFile: string;
  aclFile: string;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A real mosquitto with one TLS listener, configured as docs/broker-integration.md recommends. */
export class MosquittoProcess {
  log = '';
  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
  }

  static async start(o: MosquittoOptions): Promise<MosquittoProcess> {
    const conf = join(o.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        // As root, mosquitto would switch to its own user, who cannot read the test's private dir.
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${o.passwordFile}`,
        `acl_file ${o.aclFile}`,
        'retain_available false',
        // Listener options go after their `listener` line, else mosquitto opens a default one on 1883.
        `listener ${o.port} 127.0.0.1`,
        'use_username_as_clientid true',
        `certfile ${o.certFile}`,
        `keyfile ${o.keyFile}`,
        '',
      ].join('\n'),
    );
    const child = spawn(o.bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const m = new MosquittoProcess(child);
    const deadline = Date.now() + 5000;
    while (!(await portOpen(o.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        throw new Error(`mosquitto did not start:\n${m.log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return m;
  }

  /** What an operator does after replacing password_file / acl_file. */
  reload(): void {
    this.child.kill('SIGHUP');
  }

  /** SIGTERM, then SIGKILL if it is still there after 5 s: a stuck broker must not hold the run. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }
}
