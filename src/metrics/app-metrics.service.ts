import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CachedDevice, DeviceRegistry } from '../devices/device-registry.service';
import { configuredCerts } from '../health/cert-expiry';
import { IngestStats } from '../ingestion/ingest-stats';
import { StreamHub } from '../stream/stream-hub.service';
import { FlushedEvent, TelemetryWriter } from '../telemetry/telemetry-writer.service';
import { registerIngestMetrics } from './ingest-metrics';
import { METRIC_PREFIX as P, METRICS_REGISTRY } from './metrics-registry';

/**
 * The commands count is a GROUP BY over the whole table, and /metrics is
 * public: however often it is scraped, at most one such query per second.
 */
const COMMANDS_QUERY_EVERY_MS = 1000;

interface CommandCount {
  type: string;
  state: string;
  n: number;
}

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
  private commandsCache: { at: number; rows: CommandCount[] } = { at: 0, rows: [] };
  private commandsQuery?: Promise<CommandCount[]>;

  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly stats: IngestStats,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const observeFlush = registerIngestMetrics(this.registry, this.stats);
    this.writer = this.optional(TelemetryWriter);
    if (this.writer) {
      this.onFlushed = (e) => observeFlush(e);
      this.writer.on('flushed', this.onFlushed);
    }

    const devices = this.optional(DeviceRegistry);
    if (devices) {
      // One gauge shape, two questions asked of the registry per state.
      const byState = (name: string, help: string, extra: (d: CachedDevice) => boolean) =>
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

    const commandCounts = () => this.commandCounts();
    new Gauge({
      name: `${P}commands`,
      help: 'commands in the database by type and state (counted at most once a second)',
      labelNames: ['type', 'state'],
      registers,
      async collect() {
        const rows = await commandCounts();
        this.reset();
        for (const r of rows) this.set({ type: r.type, state: r.state }, r.n);
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

  onModuleDestroy(): void {
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

  private commandCounts(): Promise<CommandCount[]> {
    if (Date.now() - this.commandsCache.at < COMMANDS_QUERY_EVERY_MS) {
      return Promise.resolve(this.commandsCache.rows);
    }
    // Single flight: concurrent scrapes share one query.
    this.commandsQuery ??= this.queryCommandCounts().finally(
      () => (this.commandsQuery = undefined),
    );
    return this.commandsQuery;
  }

  private async queryCommandCounts(): Promise<CommandCount[]> {
    let rows: CommandCount[] = [];
    try {
      rows = await this.dataSource.query<CommandCount[]>(
        'SELECT type, state, count(*)::int AS n FROM commands GROUP BY type, state',
      );
    } catch (err) {
      // 42P01: the commands table does not exist (older schema); anything else is worth a line.
      if ((err as { code?: string }).code !== '42P01') {
        this.log.warn(`commands metric: ${(err as Error).message}`);
      }
    }
    this.commandsCache = { at: Date.now(), rows };
    return rows;
  }
}
