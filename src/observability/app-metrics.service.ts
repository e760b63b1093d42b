import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { isDatabaseUnavailable } from '../database/database-errors';
import { DatabaseGate } from '../database/database-gate';
import { SqlRunner } from '../database/sql-runner';
import { CommandsService } from '../commands/commands.service';
import type { CommandCount } from '../commands/command-store';
import {
  CachedConcentrator,
  ConcentratorRegistry,
} from '../concentrators/concentrator-registry.service';
import { configuredCerts } from './cert-expiry';
import { IngestStats } from '../ingestion/ingest-stats';
import { StreamHub } from '../stream/stream-hub.service';
import { FlushedEvent, TelemetryWriter } from '../telemetry/telemetry-writer.service';
import { registerIngestMetrics } from './ingest-metrics';
import { METRIC_PREFIX as P, METRICS_REGISTRY } from '../metrics/metrics-registry';
import { DeviceHistory } from '../concentrators/device-history.service';

/**
 * The commands count is a GROUP BY over the whole table. It is counted in the
 * background, never inside a scrape, so /metrics answers from memory whatever
 * the database does: every REFRESH_EVERY_MS, as soon as the database answers
 * again after an outage, and when a scrape finds it older than
 * REFRESH_AFTER_SCRAPE_MS (one count at a time).
 */
const REFRESH_EVERY_MS = 5000;
const REFRESH_AFTER_SCRAPE_MS = 1000;
/** A count still unanswered after this is given up (the query itself has its own bounds). */
const REFRESH_TIMEOUT_MS = 10_000;

/**
 * Registers the service's metrics on the per-app registry. Sources owned by
 * other modules are looked up at bootstrap without a hard import of their
 * modules, so a module that is absent (or not built yet) only removes its
 * metrics.
 */
@Injectable()
export class AppMetrics implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Metrics');
  private writer?: TelemetryWriter;
  private onFlushed?: (e: FlushedEvent) => void;
  /** Last counted values and when (0: never); kept through failures, its age exported. */
  private commands: { at: number; rows: CommandCount[] } = { at: 0, rows: [] };
  private commandsQuery?: Promise<void>;
  private refreshTimer?: NodeJS.Timeout;

  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sql: SqlRunner,
    private readonly commandsService: CommandsService,
    private readonly stats: IngestStats,
    private readonly history: DeviceHistory,
    private readonly moduleRef: ModuleRef,
    private readonly gate: DatabaseGate,
  ) {}

  onApplicationBootstrap(): void {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const observeFlush = registerIngestMetrics(this.registry, this.stats, this.history);
    this.writer = this.optional(TelemetryWriter);
    if (this.writer) {
      this.onFlushed = (e) => observeFlush(e);
      this.writer.on('flushed', this.onFlushed);
    }

    const devices = this.optional(ConcentratorRegistry);
    if (devices) {
      // One gauge shape, two questions asked of the registry per state.
      const byState = (name: string, help: string, extra: (d: CachedConcentrator) => boolean) =>
        new Gauge({
          name: `${P}${name}`,
          help,
          labelNames: ['state'],
          registers,
          collect() {
            for (const state of ['managed', 'pending'] as const) {
              this.set(
                { state },
                devices.count((d) => d.state === state && extra(d)),
              );
            }
          },
        });
      byState(
        'concentrators',
        'known concentrators by registry state (managed, pending)',
        () => true,
      );
      byState(
        'concentrators_online',
        'concentrators currently online, by registry state',
        (d) => d.online,
      );
    }

    const commands = () => this.scrapedCommands();
    new Gauge({
      name: `${P}commands`,
      help: 'commands in the database by type and state, as last counted (see bcb_commands_age_seconds)',
      labelNames: ['type', 'state'],
      registers,
      collect() {
        this.reset();
        for (const r of commands().rows) this.set({ type: r.type, state: r.state }, r.n);
      },
    });
    const commandsAt = () => this.commands.at;
    new Gauge({
      name: `${P}commands_age_seconds`,
      help: 'seconds since bcb_commands was last counted (-1: not yet); grows while the database is unavailable',
      registers,
      collect() {
        const at = commandsAt();
        this.set(at === 0 ? -1 : (Date.now() - at) / 1000);
      },
    });
    this.refreshCommands();
    this.refreshTimer = setInterval(() => this.refreshCommands(), REFRESH_EVERY_MS).unref();
    this.gate.on('up', this.onDatabaseUp);

    const gate = this.gate;
    new Gauge({
      name: `${P}database_up`,
      help: '1 while the database answers, 0 while the service holds it for unavailable (see /health)',
      registers,
      collect() {
        this.set(gate.up ? 1 : 0);
      },
    });
    const sql = this.sql;
    new Gauge({
      name: `${P}database_pool`,
      help: 'database pool: connections open (total) and idle, requests waiting for one (waiting)',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = sql.poolStats();
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });

    // The files are read at every scrape, so a replaced certificate shows at once.
    const config = this.config;
    new Gauge({
      name: `${P}tls_cert_expiry_days`,
      help: 'days until a configured certificate expires (negative: expired)',
      labelNames: ['variable', 'file'],
      registers,
      collect() {
        this.reset();
        for (const c of configuredCerts(config)) {
          if (c.daysLeft !== undefined)
            this.set({ variable: c.variable, file: c.file }, c.daysLeft);
        }
      },
    });
    new Gauge({
      name: `${P}tls_cert_unreadable`,
      help: '1 when a configured certificate file cannot be read or parsed',
      labelNames: ['variable', 'file'],
      registers,
      collect() {
        this.reset();
        for (const c of configuredCerts(config)) {
          this.set({ variable: c.variable, file: c.file }, c.daysLeft === undefined ? 1 : 0);
        }
      },
    });

    const stream = this.optional(StreamHub);
    if (stream) {
      new Gauge({
        name: `${P}sse_clients`,
        help: 'open Server-Sent Events streams',
        registers,
        collect() {
          this.set(stream.stats().clients);
        },
      });
      new Counter({
        name: `${P}sse_dropped_events_total`,
        help: 'events dropped for slow SSE clients',
        registers,
        collect() {
          this.reset();
          this.inc(stream.stats().droppedTotal);
        },
      });
    }
  }

  private readonly onDatabaseUp = () => this.refreshCommands();

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
    this.gate.off('up', this.onDatabaseUp);
    if (this.writer && this.onFlushed) this.writer.off('flushed', this.onFlushed);
  }

  private optional<T>(token: abstract new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get(token as never, { strict: false }) as T;
    } catch {
      this.log.warn(`${token.name} not available: its metrics are left out`);
      return undefined;
    }
  }

  /** What a scrape reports: the last counted values, asking for fresh ones when they age. */
  private scrapedCommands(): { at: number; rows: CommandCount[] } {
    if (Date.now() - this.commands.at >= REFRESH_AFTER_SCRAPE_MS) this.refreshCommands();
    return this.commands;
  }

  /** Starts a count unless one is running; never awaited by a scrape. */
  private refreshCommands(): void {
    this.commandsQuery ??= this.countCommands().finally(() => (this.commandsQuery = undefined));
  }

  private async countCommands(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      // The query has its own bounds; this one keeps a stuck count from holding the next ones.
      const rows = await Promise.race([
        this.commandsService.counts(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${REFRESH_TIMEOUT_MS} ms`)),
            REFRESH_TIMEOUT_MS,
          );
        }),
      ]);
      this.commands = { at: Date.now(), rows };
    } catch (err) {
      // 42P01: the commands table does not exist (older schema). An unavailable
      // database shows in the age gauge and /health; anything else is worth a line.
      const code = (err as { code?: string }).code;
      if (code === '42P01') this.commands = { at: Date.now(), rows: [] };
      else if (!isDatabaseUnavailable(err)) {
        this.log.warn(`commands metric: ${(err as Error).message}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
