import { EventEmitter } from 'node:events';
import { Logger } from '@nestjs/common';
import { Client, ClientConfig } from 'pg';
import {
  DatabaseUnavailableError,
  isConnectionLoss,
  UnavailableKind,
  unavailableKind,
} from './database-errors';

export interface DatabaseState {
  up: boolean;
  /** ISO time the gate closed, while it is closed. */
  downSince?: string;
  /** Why it closed: the first failure seen (no address, no SQL). */
  reason?: string;
}

type Callback = (err: Error | null | undefined, res?: unknown) => void;
type Loose = (...args: unknown[]) => unknown;

/**
 * What the service knows of the database right now. A lost connection, a
 * refused connect or a query the server never answered (SIGSTOP, a dead host)
 * closes the gate: from then on every query and connect of the service's pool
 * fails at once with DatabaseUnavailableError, instead of each request
 * spending its full timeout on a server already known to be silent. A probe
 * on a connection of its own (never the pool's, which may be stuck) tries
 * once a second and opens the gate as soon as the server answers ('up').
 */
export class DatabaseGate extends EventEmitter<{ up: [] }> {
  private readonly log = new Logger('Database');
  private down?: { since: number; kind: UnavailableKind; reason: string };
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly probeConfig: ClientConfig,
    private readonly probeEveryMs = 1000,
  ) {
    super();
  }

  get up(): boolean {
    return this.down === undefined;
  }

  state(): DatabaseState {
    const d = this.down;
    return d
      ? { up: false, downSince: new Date(d.since).toISOString(), reason: d.reason }
      : { up: true };
  }

  /** The error to fail with without touching the network, while the gate is closed. */
  refusal(): DatabaseUnavailableError | undefined {
    const d = this.down;
    return (
      d && new DatabaseUnavailableError(d.kind, `down since ${new Date(d.since).toISOString()}`)
    );
  }

  /** Every failure the pool's clients see passes here; only a lost server closes the gate. */
  observe(err: unknown): void {
    if (this.down || this.closed || !isConnectionLoss(err)) return;
    const kind = unavailableKind(err) ?? 'unreachable';
    const reason = kind === 'timeout' ? 'did not answer in time' : 'not reachable';
    this.down = { since: Date.now(), kind, reason };
    this.log.warn(
      `database ${reason} (${(err as Error).message}): database work fails fast until it answers again`,
    );
    this.schedule(0);
  }

  /** Stops probing (application shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  onApplicationShutdown(): void {
    this.close();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.probe(), ms).unref();
  }

  private async probe(): Promise<void> {
    const client = new Client(this.probeConfig);
    // Its failures arrive through connect() and query(); unheard, the event would crash.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      const d = this.down;
      this.down = undefined;
      if (d) {
        this.log.log(`database answers again after ${Math.round((Date.now() - d.since) / 1000)} s`);
        // Work that waits out the outage (the telemetry writer, the metrics count) resumes now.
        this.emit('up');
      }
    } catch {
      this.schedule(this.probeEveryMs);
    } finally {
      void client.end().catch(() => undefined);
    }
  }
}

/**
 * The pool's client class: queries and connects go through the gate, and a
 * client whose query the server never answered is closed at once. Left in the
 * pool, it would still hold that query (and perhaps an open transaction the
 * timed-out ROLLBACK never reached), and whoever got it next would wait behind
 * the old query or write into that transaction.
 */
export function gatedClientClass(gate: DatabaseGate): typeof Client {
  return class GatedClient extends Client {
    constructor(config?: string | ClientConfig) {
      super(config);
      // pg emits 'error' when the server ends a connection that has no query
      // running (a restart's 57P01, a cut socket), checked out or not: without
      // a listener of its own that would crash the process. The pool's and the
      // query's handlers still see it; here it also closes the gate at once.
      this.on('error', (err: Error) => gate.observe(err));
      const connect = super.connect.bind(this) as Loose;
      const query = super.query.bind(this) as Loose;
      const failed = (err: Error | null | undefined): void => {
        if (!err) return;
        gate.observe(err);
        if (/Query read timeout/.test(err.message)) void this.end().catch(() => undefined);
      };
      const gatedConnect: Loose = (...args) => {
        const callback = typeof args[0] === 'function' ? (args[0] as Callback) : undefined;
        const refused = gate.refusal();
        if (refused) return reject(refused, callback);
        if (callback) {
          return connect((err: Error | null | undefined) => {
            failed(err);
            callback(err);
          });
        }
        return (connect() as Promise<void>).catch((err: Error) => {
          failed(err);
          throw err;
        });
      };
      const gatedQuery: Loose = (...args) => {
        const first = args[0] as { submit?: unknown } | null | undefined;
        // Streams and cursors (none in this service) pass untouched.
        if (first && typeof first.submit === 'function') return query(...args);
        const last = args[args.length - 1];
        const callback = typeof last === 'function' ? (last as Callback) : undefined;
        const params = callback ? args.slice(0, -1) : args;
        const refused = gate.refusal();
        if (refused) return reject(refused, callback);
        if (callback) {
          query(...params, (err: Error | null | undefined, res: unknown) => {
            failed(err);
            callback(err, res);
          });
          return undefined;
        }
        return new Promise((resolve, rejectQuery) => {
          query(...params, (err: Error | null | undefined, res: unknown) => {
            failed(err);
            if (err) rejectQuery(err);
            else resolve(res);
          });
        });
      };
      Object.assign(this, { connect: gatedConnect, query: gatedQuery });
    }
  };
}

function reject(err: Error, callback: Callback | undefined): Promise<never> | undefined {
  if (!callback) return Promise.reject(err);
  process.nextTick(callback, err);
  return undefined;
}
