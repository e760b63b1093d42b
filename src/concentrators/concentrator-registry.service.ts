import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { KeyedSerializer } from '../lib/keyed-serializer';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { ConfigRequestMsg } from '../protocol/device-messages';
import { LiveFeed } from '../live/live-feed.service';
import { DeviceHistory } from './device-history.service';
import { Concentrator, ConcentratorState } from './entities/concentrator.entity';
import { initialConfig } from './initial-config';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import { FLUSH_LAST_SEEN, SWEEP_OFFLINE } from './concentrators.sql';

export interface CachedConcentrator {
  sn: string;
  state: ConcentratorState;
  lineCount: number | null;
  /** The desired report period; null when the device keeps its own. */
  reportS: number | null;
  online: boolean;
  clockSkew: boolean;
  lastSeenMs: number;
  fw: string | null;
}

/**
 * The hot path's view of the registry: one Map lookup per message instead of a
 * query. Writes that matter (discovery, online/offline, clock flag) go to the
 * database at once, without holding up the message; last-seen times are
 * written in batches.
 */
@Injectable()
export class ConcentratorRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('ConcentratorRegistry');
  private readonly devices = new Map<string, CachedConcentrator>();
  private pendingCount = 0;
  private readonly discovering = new Map<string, Promise<CachedConcentrator>>();
  private readonly seenDirty = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  // Per serial, so an online flag and its offline successor land in the order they happened.
  private readonly writes = new KeyedSerializer();
  private readonly pending = new Set<Promise<void>>();
  // Serials with a write of this instance still on its way: there the table lags the cache.
  private readonly writing = new Map<string, number>();

  constructor(
    @InjectRepository(Concentrator) private readonly repo: Repository<Concentrator>,
    private readonly events: DeviceHistory,
    private readonly lifecycle: ConcentratorLifecycle,
    private readonly live: LiveFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sql: SqlRunner,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timers.push(setInterval(() => this.track(() => this.flushSeen()), 2000).unref());
    this.timers.push(setInterval(() => this.track(() => this.sweepOffline()), 5000).unref());
    // Other instances (shared subscription) change the registry too.
    this.timers.push(setInterval(() => this.track(() => this.reload()), 30_000).unref());
  }

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach(clearInterval);
    // Ingress has stopped (IngestionService): nothing starts new writes now.
    await this.drain();
    await this.events.flush();
    await this.flushSeen();
  }

  /**
   * Resolves once every write started so far (event rows, online flags, the
   * clock flag, timer passes) has finished, including writes those started.
   */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Starts a write the caller does not wait for; with a serial, after that serial's earlier ones. */
  private track(task: () => Promise<void>, sn?: string): void {
    if (sn !== undefined) this.writing.set(sn, (this.writing.get(sn) ?? 0) + 1);
    const run = sn === undefined ? task() : this.writes.run(sn, task);
    const p: Promise<void> = run
      .catch((err: Error) => this.log.error(`background write failed: ${err.message}`))
      .finally(() => {
        this.pending.delete(p);
        if (sn === undefined) return;
        const left = (this.writing.get(sn) ?? 1) - 1;
        if (left > 0) this.writing.set(sn, left);
        else this.writing.delete(sn);
      });
    this.pending.add(p);
  }

  get(sn: string): CachedConcentrator | undefined {
    return this.devices.get(sn);
  }

  /** Online as this instance knows it; false for a serial it has not cached. */
  isOnline(sn: string): boolean {
    return this.devices.get(sn)?.online ?? false;
  }

  /**
   * The desired report period was changed (ConcentratorsService wrote the
   * row): the cache follows at once rather than at its next reload.
   */
  reportPeriodChanged(sn: string, reportS: number | null): void {
    const dev = this.devices.get(sn);
    if (dev) dev.reportS = reportS;
  }

  count(pred: (d: CachedConcentrator) => boolean): number {
    let n = 0;
    for (const d of this.devices.values()) if (pred(d)) n++;
    return n;
  }

  /** Reflects a change made through the API (adopt, release, delete, create). */
  put(c: Concentrator): void {
    const prev = this.devices.get(c.sn);
    const next: CachedConcentrator = {
      ...toCached(c),
      lastSeenMs: Math.max(prev?.lastSeenMs ?? 0, c.lastSeenAt?.getTime() ?? 0),
    };
    // A flag this instance has set but not yet written is newer than the row: keep it, or an
    // adopt right after the first message would make an online device look offline.
    if (prev && this.writing.has(c.sn)) {
      next.online = prev.online;
      next.clockSkew = prev.clockSkew;
    }
    this.set(next);
  }

  /**
   * In place when the serial is cached: a message being handled holds the
   * entry it resolved, and what it records there (online, last seen) must not
   * land on an object the cache no longer holds.
   */
  private set(d: CachedConcentrator): void {
    const prev = this.devices.get(d.sn);
    if (prev?.state === 'pending') this.pendingCount--;
    if (d.state === 'pending') this.pendingCount++;
    if (prev) Object.assign(prev, d);
    else this.devices.set(d.sn, d);
  }

  private unset(sn: string): void {
    if (this.devices.get(sn)?.state === 'pending') this.pendingCount--;
    this.devices.delete(sn);
  }

  /**
   * Whether a message from an unknown serial may register it. Pending rows
   * come from device traffic alone, so they are capped (PENDING_MAX): a flood
   * of made-up serials must not grow the registry without bound.
   */
  mayDiscover(): boolean {
    return this.config.autoAdopt || this.pendingCount < this.config.ingest.pendingMax;
  }

  remove(sn: string): void {
    this.unset(sn);
    this.seenDirty.delete(sn);
  }

  /** Finds or registers the sender; unknown serials become pending (or managed with AUTO_ADOPT). */
  async resolve(sn: string): Promise<CachedConcentrator> {
    const known = this.devices.get(sn);
    if (known) return known;
    let p = this.discovering.get(sn);
    if (!p) {
      p = this.discover(sn).finally(() => this.discovering.delete(sn));
      this.discovering.set(sn, p);
    }
    return p;
  }

  private async discover(sn: string): Promise<CachedConcentrator> {
    const state: ConcentratorState = this.config.autoAdopt ? 'managed' : 'pending';
    const config = initialConfig(this.config.deviceDefaults);
    const res = await this.repo
      .createQueryBuilder()
      .insert()
      .values({ sn, state, ...config, adoptedAt: state === 'managed' ? new Date() : null })
      .orIgnore()
      .returning('sn')
      .execute();
    if ((res.raw as unknown[]).length === 0) {
      // Registered meanwhile (through the API, or by another instance): the row is the truth.
      this.put(await this.repo.findOneByOrFail({ sn }));
      return this.devices.get(sn)!;
    }
    // Just inserted: the cache entry is what was written, with no second read that
    // an adoption racing this message could overtake with an older row.
    if (!this.devices.has(sn)) {
      this.set({
        sn,
        state,
        lineCount: null,
        reportS: config.reportS,
        online: false,
        clockSkew: false,
        lastSeenMs: 0,
        fw: null,
      });
    }
    this.log.log(`discovered concentrator ${sn} (${state})`);
    this.track(
      () => this.lifecycle.publish({ sn, change: 'discovered', actor: null, detail: { state } }),
      sn,
    );
    return this.devices.get(sn)!;
  }

  /** Called for every accepted message: last seen, and online when it was not. */
  seen(dev: CachedConcentrator, nowMs: number): void {
    dev.lastSeenMs = nowMs;
    this.seenDirty.add(dev.sn);
    if (!dev.online) {
      dev.online = true;
      const at = new Date(nowMs);
      this.track(() => this.setOnline(dev.sn, true, at, 'message'), dev.sn);
    }
  }

  markOffline(sn: string, reason: string): void {
    const dev = this.devices.get(sn);
    if (!dev || !dev.online) return;
    dev.online = false;
    const at = new Date();
    this.track(() => this.setOnline(sn, false, at, reason), sn);
  }

  setClockSkew(dev: CachedConcentrator, skewed: boolean, detail: Record<string, unknown>): void {
    if (dev.clockSkew === skewed) return;
    dev.clockSkew = skewed;
    const at = new Date();
    this.track(async () => {
      await this.repo
        .update({ sn: dev.sn }, { clockSkew: skewed, clockSkewAt: at, updatedAt: at })
        .catch((err: Error) => this.log.error(`clock flag ${dev.sn}: ${err.message}`));
      await this.events.add({ sn: dev.sn, kind: skewed ? 'clock_skew' : 'clock_ok', at, detail });
    }, dev.sn);
  }

  /**
   * What a config_request says about the device itself (firmware, model,
   * line count, io): cache and row. The ingestion pipeline calls it before
   * any feature handles the message, so they all see it.
   */
  async recordConfigRequest(dev: CachedConcentrator, msg: ConfigRequestMsg): Promise<void> {
    dev.lineCount = msg.lines;
    dev.fw = msg.fw;
    await this.repo.update(
      { sn: dev.sn },
      { fw: msg.fw, model: msg.model, lineCount: msg.lines, io: msg.io, updatedAt: new Date() },
    );
  }

  private async setOnline(sn: string, online: boolean, at: Date, reason: string): Promise<void> {
    this.live.emit({ kind: 'connectivity', sn, at: at.toISOString(), online, reason });
    try {
      await this.repo.update(
        { sn },
        { online, onlineChangedAt: at, updatedAt: at, ...(online ? { lastSeenAt: at } : {}) },
      );
      await this.events.add({ sn, kind: online ? 'online' : 'offline', at, detail: { reason } });
    } catch (err) {
      this.log.error(`online state of ${sn}: ${(err as Error).message}`);
    }
  }

  async flushSeen(): Promise<void> {
    if (this.seenDirty.size === 0) return;
    const sns: string[] = [];
    const times: number[] = [];
    for (const sn of this.seenDirty) {
      const d = this.devices.get(sn);
      if (!d) continue;
      sns.push(sn);
      times.push(d.lastSeenMs);
    }
    this.seenDirty.clear();
    try {
      await this.sql.run(FLUSH_LAST_SEEN, [sns, times]);
    } catch (err) {
      this.log.error(`last-seen flush failed: ${(err as Error).message}`);
    }
  }

  /** Silence longer than 3 × report_s (at least OFFLINE_MIN_S) means offline. */
  async sweepOffline(): Promise<void> {
    // Write what this instance has seen first, so silence is judged on fresh times.
    await this.flushSeen();
    try {
      const rows = await this.sql.rows<{ sn: string }>(SWEEP_OFFLINE, [
        this.config.ingest.offlineMinS,
        this.config.deviceDefaults.reportS,
      ]);
      for (const { sn } of rows) {
        const d = this.devices.get(sn);
        if (d) d.online = false;
        this.live.emit({
          kind: 'connectivity',
          sn,
          at: new Date().toISOString(),
          online: false,
          reason: 'silence',
        });
        this.track(
          () => this.events.add({ sn, kind: 'offline', detail: { reason: 'silence' } }),
          sn,
        );
      }
    } catch (err) {
      this.log.error(`offline sweep failed: ${(err as Error).message}`);
    }
  }

  private async reload(): Promise<void> {
    try {
      const rows = await this.repo.find();
      const present = new Set<string>();
      for (const c of rows) {
        present.add(c.sn);
        // The table is the truth for online (other instances write it too); put()
        // keeps the freshest last-seen time of the two.
        this.put(c);
      }
      for (const sn of [...this.devices.keys()]) if (!present.has(sn)) this.unset(sn);
    } catch (err) {
      this.log.error(`registry reload failed: ${(err as Error).message}`);
    }
  }
}

function toCached(c: Concentrator): CachedConcentrator {
  return {
    sn: c.sn,
    state: c.state,
    lineCount: c.lineCount,
    reportS: c.reportS,
    online: c.online,
    clockSkew: c.clockSkew,
    lastSeenMs: c.lastSeenAt?.getTime() ?? 0,
    fw: c.fw,
  };
}
