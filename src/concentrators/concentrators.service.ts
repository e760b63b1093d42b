import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, Repository } from 'typeorm';
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
  LineView,
  UpdateConcentratorDto,
} from './dto/concentrator.dto';
import { ConcentratorLine } from './entities/concentrator-line.entity';
import { Concentrator, ConcentratorState } from './entities/concentrator.entity';
import { initialConfig } from './initial-config';
import { AuditActionName } from '../audit/audit-actions';
import { CredentialsService } from '../credentials/credentials.service';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';

export function toView(c: Concentrator): ConcentratorView {
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
      schedules: c.schedulesSync ?? null,
      params: c.paramsSync ?? null,
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
    @InjectRepository(ConcentratorLine) private readonly lines: Repository<ConcentratorLine>,
    private readonly registry: ConcentratorRegistry,
    private readonly lifecycle: ConcentratorLifecycle,
    private readonly credentials: CredentialsService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

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
    return { items: rows.map(toView), total, limit: q.limit, offset: q.offset };
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
    if (res.raw.length === 0) throw new ConflictException(`concentrator ${dto.sn} already exists`);
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

  async listLines(sn: string): Promise<LineView[]> {
    const c = await this.get(sn);
    const named = await this.lines.find({ where: { sn }, order: { line: 'ASC' } });
    const byLine = new Map(named.map((l) => [l.line, l.name]));
    const count = Math.max(c.lineCount ?? 0, ...named.map((l) => l.line), 0);
    return Array.from({ length: count }, (_, i) => ({
      line: i + 1,
      name: byLine.get(i + 1) ?? null,
    }));
  }

  renameLine(
    sn: string,
    line: number,
    name: string,
    actor: Actor | null = null,
  ): Promise<LineView> {
    return this.audited(actor, 'line.rename', sn, { line, name }, () =>
      this.doRenameLine(sn, line, name),
    );
  }

  private async doRenameLine(sn: string, line: number, name: string): Promise<LineView> {
    const c = await this.get(sn);
    if (c.lineCount !== null && line > c.lineCount) {
      throw new BadRequestException(
        `line ${line} is beyond the concentrator's ${c.lineCount} lines`,
      );
    }
    await this.lines
      .createQueryBuilder()
      .insert()
      .values({ sn, line, name })
      .orUpdate(['name'], ['sn', 'line'])
      .execute();
    return { line, name };
  }
}
