import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { unavailableKind } from '../database/database-errors';
import { DatabaseGate } from '../database/database-gate';
import { SqlRunner } from '../database/sql-runner';
import { IngestStats } from '../ingestion/ingest-stats';
import { FromdevMqttServer } from '../mqtt/fromdev-server';
import { certWarning, configuredCerts } from './cert-expiry';
import { DeviceHistory } from '../concentrators/device-history.service';

/** How long /health waits for the database's answer. */
const CHECK_MS = 2000;

interface DatabaseHealth {
  up: boolean;
  /** Since when the service holds the database for unavailable. */
  downSince?: string;
  error?: string;
  /** The service's pool: connections open and idle, requests waiting for one. */
  pool: { total: number; idle: number; waiting: number };
}

/** The error in words, without the server's address. */
function healthError(err: unknown): string {
  const kind = unavailableKind(err);
  if (kind === 'unreachable') return 'not reachable';
  if (kind === 'timeout') return 'did not answer in time';
  if (kind === 'overloaded') return 'accepts no more connections';
  return (err as Error).message;
}

/** What /health reports: database, broker, certificates, ingestion counters. */
@Injectable()
export class HealthService {
  constructor(
    private readonly sql: SqlRunner,
    private readonly gate: DatabaseGate,
    private readonly mqtt: FromdevMqttServer,
    private readonly stats: IngestStats,
    private readonly history: DeviceHistory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The status code and the body of /health. */
  async report(): Promise<{ statusCode: number; body: Record<string, unknown> }> {
    const database = await this.checkDatabase();
    const broker = { up: this.mqtt.isConnected };
    const down = [...(database.up ? [] : ['database']), ...(broker.up ? [] : ['broker'])];
    // Expiring certificates warn but keep 200: they still work, and an
    // orchestrator must not restart the service over them.
    const warnDays = this.config.security.certWarnDays;
    const tls = configuredCerts(this.config).map((c) => ({
      ...c,
      warning: certWarning(c, warnDays),
    }));
    const warnings = tls.flatMap((c) => (c.warning ? [c.warning] : []));
    const body = {
      status: down.length ? 'error' : warnings.length ? 'warning' : 'ok',
      down,
      warnings,
      database,
      broker,
      ...(tls.length ? { tls } : {}),
      ingest: { ...this.stats.snapshot(), events: this.history.counts },
    };
    return { statusCode: down.length ? 503 : 200, body };
  }

  /**
   * Down at once while the gate holds the database for unavailable; otherwise
   * a live SELECT 1 through the pool, given up after CHECK_MS so /health
   * itself never hangs (the query keeps its own bounds meanwhile).
   */
  private async checkDatabase(): Promise<DatabaseHealth> {
    const pool = this.sql.poolStats();
    const state = this.gate.state();
    if (!state.up) return { up: false, downSince: state.downSince, error: state.reason, pool };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.sql.rows('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_MS} ms`)), CHECK_MS);
        }),
      ]);
      return { up: true, pool };
    } catch (err) {
      return { up: false, error: healthError(err), pool };
    } finally {
      clearTimeout(timer);
    }
  }
}
