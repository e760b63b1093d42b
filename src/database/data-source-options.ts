import type { ClientConfig, PoolConfig } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { CLI_BOUNDS, CLIENT_GRACE_MS, DatabaseBounds } from '../config/database-bounds';
import { DatabaseGate, gatedClientClass } from './database-gate';
import { MIGRATIONS } from './migrations';

const KEEPALIVE_IDLE_MS = 10_000;

/** Connection settings every path shares: connect bound, TCP keepalive, abandoned transactions. */
function common(url: string, b: DatabaseBounds): ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: b.connectTimeoutMs,
    // A dead host or a cut network on an idle connection (a frozen process still
    // answers keepalives: the client-side query timeout covers that one).
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    idle_in_transaction_session_timeout: b.idleInTransactionTimeoutMs,
  };
}

export interface PoolOptions {
  url: string;
  /** The app's entities (assembled at the top: src/app-entities.ts); migrations need none. */
  entities?: DataSourceOptions['entities'];
  poolSize?: number;
  bounds?: DatabaseBounds;
  gate?: DatabaseGate;
}

/** The service's pool: API-sized bounds, gated when a gate is given. */
export function dataSourceOptions({
  url,
  entities = [],
  poolSize = 10,
  bounds = CLI_BOUNDS,
  gate,
}: PoolOptions): DataSourceOptions {
  const extra: PoolConfig = {
    ...common(url, bounds),
    max: poolSize,
    application_name: 'breaker-backend',
    statement_timeout: bounds.statementTimeoutMs,
    query_timeout: bounds.queryTimeoutMs,
    ...(gate ? { Client: gatedClientClass(gate) } : {}),
  };
  return {
    type: 'postgres',
    url,
    entities,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    // The schema belongs to the migrations alone; never let the ORM guess it.
    synchronize: false,
    extra,
  };
}

/** The migrations' own short-lived connection: a long bound, no gate. */
export function migrationOptions(url: string, bounds: DatabaseBounds): DataSourceOptions {
  const extra: PoolConfig = {
    ...common(url, bounds),
    max: 2,
    application_name: 'breaker-backend-migrations',
    statement_timeout: bounds.migrationTimeoutMs,
    query_timeout: bounds.migrationTimeoutMs + CLIENT_GRACE_MS,
  };
  return { ...dataSourceOptions({ url, poolSize: 2, bounds }), extra, migrationsRun: true };
}

/** The gate's probe: one connection, bounded by the connect timeout throughout. */
export function probeConfig(url: string, bounds: DatabaseBounds): ClientConfig {
  return {
    ...common(url, bounds),
    application_name: 'breaker-backend-probe',
    statement_timeout: bounds.connectTimeoutMs,
    query_timeout: bounds.connectTimeoutMs,
  };
}
