import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, In, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { Page } from '../common/pagination.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CachedConcentrator, ConcentratorRegistry } from './concentrator-registry.service';
import {
  AdoptConcentratorDto,
  ConcentratorView,
  CreateConcentratorDto,
  ListConcentratorsQuery,
  UpdateConcentratorDto,
} from './dto/concentrator.dto';
import { Concentrator, ConcentratorState, SyncState } from './entities/concentrator.entity';
import { initialConfig } from './initial-config';
import { AuditActionName } from '../audit/audit-actions';
import { CredentialsService } from '../credentials/credentials.service';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';

export type { SyncState };

/** What dashboards show of a concentrator beside its lines' latest values. */
export type ConcentratorSummary = Pick<
  Concentrator,
  'sn' | 'name' | 'site' | 'online' | 'lastSeenAt' | 'clockSkew'
>;

/** Sync of the desired schedules and params, per serial (desired-state plugs itself in). */
export interface DesiredSync {
  schedules: SyncState | null;
  params: SyncState | null;
}
export type DesiredSyncSource = (sns: string[]) => Promise<Map<string, DesiredSync>>;

const NO_SYNC: DesiredSync = { schedules: null, params: null };

function toView(c: Concentrator, desired: DesiredSync = NO_SYNC): ConcentratorView {
  return {
    sn: c.sn,
    state: c.state,
    name: c.name,
    site: c.site,
    online: c.online,
    lastSeenAt: c.lastSeenAt?.toISOString() ?? null,
    onlineChangedAt: c.onlineChangedAt?.toISOString() ?? null,
    fw: c.fw,
    model: c.model,
    lineCount: c.lineCount,
    io: c.io,
    clockSkew: c.clockSkew,
    clockSkewAt: c.clockSkewAt?.toISOString() ?? null,
    sync: {
      config: c.configSync,
      schedules: desired.schedules,
      params: desired.params,
    },
    firstSeenAt: c.firstSeenAt.toISOString(),
    adoptedAt: c.adoptedAt?.toISOString() ?? null,
  };
}

/** Registry changes made by people (create, adopt, release, delete, rename). */
@Injectable()
export class ConcentratorsService {
  constructor(
    @InjectRepository(Concentrator) private readonly repo: Repository<Concentrator>,
    private readonly registry: ConcentratorRegistry,
    private readonly lifecycle: ConcentratorLifecycle,
    private readonly credentials: CredentialsService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private desiredSync: DesiredSyncSource = () => Promise.resolve(new Map<string, DesiredSync>());

  /** The sync of desired schedules and params in views (desired-state plugs itself in). */
  useDesiredSync(source: DesiredSyncSource): void {
    this.desiredSync = source;
  }

  /** What the API shows of concentrators: the rows with their desired-state sync. */
  async views(rows: Concentrator[]): Promise<ConcentratorView[]> {
    const sync = rows.length
      ? await this.desiredSync(rows.map((c) => c.sn))
      : new Map<string, DesiredSync>();
    return rows.map((c) => toView(c, sync.get(c.sn)));
  }

  async view(c: Concentrator): Promise<ConcentratorView> {
    return (await this.views([c]))[0];
  }

  /** Registry changes are audited whatever their outcome. */
  private audited<T>(
    actor: Actor | null,
    action: AuditActionName,
    sn: string,
    detail: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    return this.audit.audited({ actor, action, target: sn, detail }, fn);
  }

  async list(q: ListConcentratorsQuery): Promise<Page<ConcentratorView>> {
    const qb = this.repo.createQueryBuilder('c');
    if (q.state) qb.andWhere('c.state = :state', { state: q.state });
    if (q.online !== undefined) qb.andWhere('c.online = :online', { online: q.online });
    if (q.site) qb.andWhere('c.site = :site', { site: q.site });
    if (q.q) {
      const like = `%${q.q.replace(/[\\%_]/g, (m) => '\\' + m)}%`;
      qb.andWhere(
        new Brackets((w) =>
          w.where('c.sn LIKE :like', { like }).orWhere('c.name ILIKE :like', { like }),
        ),
      );
    }
    const [rows, total] = await qb.orderBy('c.sn').take(q.limit).skip(q.offset).getManyAndCount();
    return { items: await this.views(rows), total, limit: q.limit, offset: q.offset };
  }

  /** pending, managed, or null when the serial is not registered (read from the table: every instance agrees). */
  async stateOf(sn: string): Promise<ConcentratorState | null> {
    const c = await this.repo.findOne({ where: { sn }, select: { sn: true, state: true } });
    return c?.state ?? null;
  }

  /** Serials of every managed concentrator, in order. */
  async managedSerials(): Promise<string[]> {
    const rows = await this.repo.find({
      where: { state: 'managed' },
      select: { sn: true },
      order: { sn: 'ASC' },
    });
    return rows.map((r) => r.sn);
  }

  /**
   * The registry's entry; loaded from the table when this instance has not
   * cached it yet (created through another instance since the last reload).
   * 404 when the serial is not registered.
   */
  async cached(sn: string): Promise<CachedConcentrator> {
    const hit = this.registry.get(sn);
    if (hit) return hit;
    this.registry.put(await this.get(sn));
    return this.registry.get(sn)!;
  }

  async get(sn: string): Promise<Concentrator> {
    const c = await this.repo.findOneBy({ sn });
    if (!c) throw new NotFoundException(`concentrator ${sn} not found`);
    return c;
  }

  /** Registers a managed concentrator and issues its MQTT password (shown once). */
  async create(
    dto: CreateConcentratorDto,
    actor: Actor | null = null,
  ): Promise<{ concentrator: Concentrator; mqttPassword: string }> {
    const concentrator = await this.audited(
      actor,
      'concentrator.create',
      dto.sn,
      { name: dto.name, site: dto.site },
      () => this.doCreate(dto, actor),
    );
    const issued = await this.credentials.issueForNew(concentrator.sn, actor);
    return { concentrator, mqttPassword: issued.mqttPassword };
  }

  private async doCreate(dto: CreateConcentratorDto, actor: Actor | null): Promise<Concentrator> {
    const d = this.config.deviceDefaults;
    const res = await this.repo
      .createQueryBuilder()
      .insert()
      .values({
        sn: dto.sn,
        state: 'managed',
        name: dto.name,
        site: dto.site ?? null,
        ...initialConfig(d),
        adoptedAt: new Date(),
      })
      .orIgnore()
      .returning('sn')
      .execute();
    if ((res.raw as unknown[]).length === 0) {
      throw new ConflictException(`concentrator ${dto.sn} already exists`);
    }
    const c = await this.get(dto.sn);
    this.registry.put(c);
    await this.lifecycle.publish({ sn: c.sn, change: 'registered', actor: actor?.name ?? null });
    return c;
  }

  update(
    sn: string,
    dto: UpdateConcentratorDto,
    actor: Actor | null = null,
  ): Promise<Concentrator> {
    return this.audited(actor, 'concentrator.update', sn, { ...dto }, () => this.doUpdate(sn, dto));
  }

  private async doUpdate(sn: string, dto: UpdateConcentratorDto): Promise<Concentrator> {
    await this.get(sn);
    const patch: Partial<Concentrator> = { updatedAt: new Date() };
    if (dto.name !== undefined) patch.name = dto.name;
    if (dto.site !== undefined) patch.site = dto.site === '' ? null : dto.site;
    await this.repo.update({ sn }, patch);
    return this.get(sn);
  }

  /**
   * pending → managed. A device discovered under open enrollment has no MQTT
   * password yet: one is issued and returned once; a device that has one keeps it.
   */
  async adopt(
    sn: string,
    dto: AdoptConcentratorDto,
    actor: Actor | null = null,
  ): Promise<{ concentrator: Concentrator; mqttPassword?: string }> {
    const concentrator = await this.audited(actor, 'concentrator.adopt', sn, { ...dto }, () =>
      this.doAdopt(sn, dto, actor),
    );
    const issued = await this.credentials.issueIfMissing(sn, actor);
    return issued ? { concentrator, mqttPassword: issued.mqttPassword } : { concentrator };
  }

  private async doAdopt(
    sn: string,
    dto: AdoptConcentratorDto,
    actor: Actor | null,
  ): Promise<Concentrator> {
    const c = await this.get(sn);
    if (c.state === 'managed') throw new ConflictException(`concentrator ${sn} is already managed`);
    await this.repo.update(
      { sn, state: 'pending' },
      {
        state: 'managed',
        name: dto.name,
        site: dto.site ?? null,
        adoptedAt: new Date(),
        updatedAt: new Date(),
      },
    );
    const next = await this.get(sn);
    this.registry.put(next);
    await this.lifecycle.publish({ sn, change: 'adopted', actor: actor?.name ?? null });
    return next;
  }

  release(sn: string, actor: Actor | null = null): Promise<Concentrator> {
    return this.audited(actor, 'concentrator.release', sn, {}, () => this.doRelease(sn, actor));
  }

  private async doRelease(sn: string, actor: Actor | null): Promise<Concentrator> {
    const c = await this.get(sn);
    if (c.state === 'pending') throw new ConflictException(`concentrator ${sn} is already pending`);
    await this.repo.update({ sn }, { state: 'pending', updatedAt: new Date() });
    const next = await this.get(sn);
    this.registry.put(next);
    await this.lifecycle.publish({ sn, change: 'released', actor: actor?.name ?? null });
    return next;
  }

  remove(sn: string, purge: boolean, actor: Actor | null = null): Promise<void> {
    return this.audited(actor, 'concentrator.delete', sn, { purge }, () =>
      this.doRemove(sn, purge, actor),
    );
  }

  /** Its own rows go with the cascade; owners of other data about it (telemetry) hear `deleted`. */
  private async doRemove(sn: string, purge: boolean, actor: Actor | null): Promise<void> {
    const c = await this.get(sn);
    if (c.state === 'managed') {
      throw new ConflictException('concentrator is managed: release it first');
    }
    const res = await this.repo.delete({ sn, state: 'pending' });
    if (!res.affected) throw new ConflictException(`concentrator ${sn} changed meanwhile: retry`);
    this.registry.remove(sn);
    await this.lifecycle.publish({
      sn,
      change: 'deleted',
      actor: actor?.name ?? null,
      detail: { purge },
    });
  }

  /** A page of managed concentrators in serial order, of one site or all (the fleet overview). */
  async managedPage(q: {
    site?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: ConcentratorSummary[]; total: number }> {
    const [items, total] = await this.repo.findAndCount({
      where: { state: 'managed', ...(q.site ? { site: q.site } : {}) },
      order: { sn: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
    return { items, total };
  }

  // ---- fleet operations (upgrade campaigns) ----------------------------------

  /** The managed concentrators of a site, in serial order. */
  managedAtSite(site: string): Promise<Concentrator[]> {
    return this.repo.find({ where: { site, state: 'managed' }, order: { sn: 'ASC' } });
  }

  /** The registered concentrators among `sns`, in any state; unknown serials are absent. */
  bySerials(sns: readonly string[]): Promise<Concentrator[]> {
    return this.repo.findBy({ sn: In([...sns]) });
  }
}
