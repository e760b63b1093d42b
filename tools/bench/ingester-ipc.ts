import { ChildProcess, fork } from 'node:child_process';

/**
 * What an ingester under comparison reports. Both sides run as child processes
 * of the bench, so /proc shows each one's CPU and peak RSS alone.
 */
export interface IngesterSnapshot {
  /** Device messages of every type taken from the broker. */
  received: number;
  /** Messages refused, by reason. */
  rejected: Record<string, number>;
  /** Messages the ingester lost whole, after receiving them (rows unknown: a bench message has `lines`). */
  droppedMsgs: number;
  /** Rows lost besides whole messages (a batch that could not be written). */
  droppedRows: number;
  /** Rows skipped by the insert as already stored. */
  duplicateRows: number;
  bufferedRows: number;
  /** Wall-clock ms at which the last batch was written, 0 for none. */
  lastStoredAt: number;
}

type ToChild =
  | { kind: 'snapshot'; id: number }
  | { kind: 'settle'; id: number; maxS: number }
  | { kind: 'stop' };
type FromChild =
  | { kind: 'ready'; detail: string }
  | { kind: 'reply'; id: number; snapshot: IngesterSnapshot }
  | { kind: 'failed'; message: string };

export interface Ingester {
  snapshot(): IngesterSnapshot;
  /** Writes everything buffered; resolves when nothing is left in flight. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until nothing new arrived and nothing was buffered for a second (at most maxS), then drains. */
async function settle(ingester: Ingester, maxS: number): Promise<IngesterSnapshot> {
  const until = Date.now() + maxS * 1000;
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() < until) {
    const s = ingester.snapshot();
    if (s.received !== last || s.bufferedRows > 0) quietSince = Date.now();
    if (Date.now() - quietSince >= 1000) break;
    last = s.received;
    await sleep(100);
  }
  await ingester.drain();
  return ingester.snapshot();
}

/** The child's side: starts the ingester, then answers the bench over IPC. */
export function serveIngester(start: () => Promise<{ ingester: Ingester; detail: string }>): void {
  const send = (m: FromChild) => process.send?.(m);
  // The bench is gone: nothing will stop us otherwise.
  process.on('disconnect', () => process.exit(0));
  start().then(
    ({ ingester, detail }) => {
      process.on('message', (m: ToChild) => {
        if (m.kind === 'snapshot') send({ kind: 'reply', id: m.id, snapshot: ingester.snapshot() });
        else if (m.kind === 'settle') {
          void settle(ingester, m.maxS).then((snapshot) =>
            send({ kind: 'reply', id: m.id, snapshot }),
          );
        } else if (m.kind === 'stop') {
          void ingester
            .stop()
            .catch((e: Error) => console.error(`stop: ${e.message}`))
            .finally(() => process.exit(0));
        }
      });
      send({ kind: 'ready', detail });
    },
    (e: Error) => {
      send({ kind: 'failed', message: e.stack ?? e.message });
      process.exit(1);
    },
  );
}

/** The bench's side: one ingester child process. */
export class IngesterProcess {
  readonly ready: Promise<string>;
  private readonly child: ChildProcess;
  private readonly replies = new Map<
    number,
    { resolve: (s: IngesterSnapshot) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private readonly exited: Promise<void>;
  private failure?: Error;

  constructor(
    readonly name: string,
    script: string,
    env: NodeJS.ProcessEnv,
  ) {
    // Plain node, no ts-node: the script is transpiled JavaScript, so the
    // TypeScript compiler is not in the ingester's memory.
    this.child = fork(script, [], {
      env,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise<string>((resolve, reject) => {
      this.child.on('message', (m: FromChild) => {
        if (m.kind === 'ready') resolve(m.detail);
        else if (m.kind === 'failed') reject(new Error(`${name} failed to start:\n${m.message}`));
        else if (m.kind === 'reply') {
          this.replies.get(m.id)?.resolve(m.snapshot);
          this.replies.delete(m.id);
        }
      });
      this.child.once('exit', (code, signal) => {
        const failure = new Error(`${name} exited (${signal ?? code})`);
        this.failure = failure;
        reject(failure);
        for (const r of this.replies.values()) r.reject(failure);
        this.replies.clear();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`);
    return this.child.pid;
  }

  private ask(m: ToChild & { id: number }): Promise<IngesterSnapshot> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.replies.set(m.id, { resolve, reject });
      this.child.send(m);
    });
  }

  snapshot(): Promise<IngesterSnapshot> {
    return this.ask({ kind: 'snapshot', id: this.nextId++ });
  }

  settle(maxS: number): Promise<IngesterSnapshot> {
    return this.ask({ kind: 'settle', id: this.nextId++, maxS });
  }

  /** Asks the child to stop, and kills it if it has not within 30 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.connected) {
      this.child.send({ kind: 'stop' } satisfies ToChild);
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}
