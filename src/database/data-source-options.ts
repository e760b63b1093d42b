import type { ClientConfig, PoolConfig } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { CLI_BOUNDS, CLIENT_GRACE_MS, DatabaseBounds } from './database-bounds';
import { DatabaseGate, gatedClientClass } from './database-gate';
import { ENTITIES } from './entities';
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

/** The service's pool: API-sized bounds, gated when a gate is given. */
export function dataSourceOptions(
  url: string,
  poolSize = 10,
  bounds: DatabaseBounds = CLI_BOUNDS,
  gate?: DatabaseGate,
): DataSourceOptions {
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
    entities: ENTITIES,
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
  return { ...dataSourceOptions(url, 2, bounds), extra, migrationsRun: true };
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
