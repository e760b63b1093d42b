/**
 * One classification of database failures for the whole service: the HTTP
 * filter turns them into 503, ingestion counts them as `database_unavailable`
 * drops, the telemetry writer waits them out, and the gate closes on the
 * narrower set that says the server itself is gone or silent.
 */

/** Seconds a client is told to wait (Retry-After) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_S = 5;

/** What went wrong, in words fit for an API client (no addresses, no SQL). */
export type UnavailableKind = 'unreachable' | 'timeout' | 'overloaded';

/** Raised without touching the network while the gate knows the database is down. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'database_unavailable';

  constructor(
    readonly kind: UnavailableKind,
    detail: string,
  ) {
    super(`database unavailable (${kind}): ${detail}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** Socket-level codes node sets on `err.code` when the server cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

// What node-pg and pg-pool raise without a SQLSTATE when the server is gone,
// silent or the pool cannot hand out a client in time.
const LOST_MESSAGE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|Connection terminated|terminating connection|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|not currently accepting connections|Client has encountered a connection error/i;
const TIMEOUT_MESSAGE = /Query read timeout|connection timeout|timeout expired/i;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

interface Verdict {
  kind: UnavailableKind;
  /** The server itself is gone or silent (not one slow statement, not a full server). */
  lost: boolean;
}

function classify(err: unknown, depth = 0): Verdict | undefined {
  if (err instanceof DatabaseUnavailableError) return { kind: err.kind, lost: false };
  if (err === null || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  // SQLSTATE 53300 too_many_connections and 57014 query_canceled (statement timeout)
  // come from a server that answers; the rest of class 57 (admin or crash
  // shutdown, cannot connect now) and class 08 (connection) from one that does not.
  if (code === 'database_unavailable') return { kind: 'unreachable', lost: false };
  if (code === '53300') return { kind: 'overloaded', lost: false };
  if (code === '57014' || /statement timeout/i.test(message))
    return { kind: 'timeout', lost: false };
  // pg-pool's wait for a free client: the pool is busy, which says nothing of the server.
  if (/timeout exceeded when trying to connect/i.test(message)) {
    return { kind: 'timeout', lost: false };
  }
  // The service's own pool, closed at shutdown.
  if (/Cannot use a pool after calling end/i.test(message)) {
    return { kind: 'unreachable', lost: false };
  }
  if (code.startsWith('08') || code.startsWith('57') || NETWORK_CODES.has(code)) {
    return { kind: code === 'ETIMEDOUT' ? 'timeout' : 'unreachable', lost: true };
  }
  if (TIMEOUT_MESSAGE.test(message)) return { kind: 'timeout', lost: true };
  if (LOST_MESSAGE.test(message)) return { kind: 'unreachable', lost: true };
  // TypeORM wraps driver errors (QueryFailedError keeps the driver's one); pg-pool
  // wraps a connect timeout around the socket error it caused.
  for (const inner of [e.driverError, e.cause]) {
    if (inner && inner !== err) {
      const v = classify(inner, depth + 1);
      if (v) return v;
    }
  }
  return undefined;
}

/** The kind of unavailability `err` shows, or undefined for any other error. */
export function unavailableKind(err: unknown): UnavailableKind | undefined {
  return classify(err)?.kind;
}

/** True when `err` means the database could not be reached or did not answer in time. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return classify(err) !== undefined;
}

/**
 * True when `err` says the server itself is gone or silent: a refused or cut
 * connection, a connect that timed out, a query the client gave up waiting
 * for. A statement the server cancelled or a full server prove it is alive.
 */
export function isConnectionLoss(err: unknown): boolean {
  return classify(err)?.lost === true;
}
