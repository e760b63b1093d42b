/**
 * How long each kind of database wait may last (milliseconds). The defaults
 * live in the env schema (DATABASE_*_MS); docs/security.md explains each.
 */
export interface DatabaseBounds {
  /** A new connection (TCP + authentication), and a request's wait for a free pooled one. */
  connectTimeoutMs: number;
  /** Server-side bound of one statement of the API and of the ingest handlers. */
  statementTimeoutMs: number;
  /** Client-side bound of the same: a frozen server never cancels anything itself. */
  queryTimeoutMs: number;
  /** Server-side bound of bulk writes (telemetry batches, latest state, partitions). */
  bulkTimeoutMs: number;
  /** Bound of one migration statement at start-up (an index build may take minutes). */
  migrationTimeoutMs: number;
  /** The server ends a session left idle inside a transaction, releasing its locks. */
  idleInTransactionTimeoutMs: number;
}

/** What the client adds to a server-side bound before it gives up itself. */
export const CLIENT_GRACE_MS = 1000;

/** For the TypeORM CLI and tools: no API in front, so only the long bounds matter. */
export const CLI_BOUNDS: DatabaseBounds = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 600_000,
  queryTimeoutMs: 600_000 + CLIENT_GRACE_MS,
  bulkTimeoutMs: 600_000,
  migrationTimeoutMs: 600_000,
  idleInTransactionTimeoutMs: 600_000,
};
