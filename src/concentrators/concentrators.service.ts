import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { Brackets, DataSource, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { Page } from '../common/pagination.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DeviceHistory } from './device-history.service';
import { ConcentratorRegistry } from './concentrator-registry.service';
import {
  AdoptConcentratorDto,
  ConcentratorView,
  CreateConcentratorDto,
  ListConcentratorsQuery,
  LineView,
  UpdateConcentratorDto,
} from './dto/concentrator.dto';
import { ConcentratorLine } from './entities/concentrator-line.entity';
import { Concentrator } from './entities/concentrator.entity';
import { initialConfig } from './initial-config';
import { AuditActionName } from '../audit/audit-actions';

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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ConcentratorRegistry,
    private readonly events: DeviceHistory,
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

  async get(sn: string): Promise<Concentrator> {
    const c = await this.repo.findOneBy({ sn });
    if (!c) throw new NotFoundException(`concentrator ${sn} not found`);
    return c;
  }

  create(dto: CreateConcentratorDto, actor: Actor | null = null): Promise<Concentrator> {
    return this.audited(
      actor,
      'concentrator.create',
      dto.sn,
      { name: dto.name, site: dto.site },
      () => this.doCreate(dto),
    );
  }

  private async doCreate(dto: CreateConcentratorDto): Promise<Concentrator> {
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
    await this.events.add({ sn: c.sn, kind: 'created' });
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

  adopt(sn: string, dto: AdoptConcentratorDto, actor: Actor | null = null): Promise<Concentrator> {
    return this.audited(actor, 'concentrator.adopt', sn, { ...dto }, () => this.doAdopt(sn, dto));
  }

  private async doAdopt(sn: string, dto: AdoptConcentratorDto): Promise<Concentrator> {
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
    await this.events.add({ sn, kind: 'adopted' });
    return next;
  }

  release(sn: string, actor: Actor | null = null): Promise<Concentrator> {
    return this.audited(actor, 'concentrator.release', sn, {}, () => this.doRelease(sn));
  }

  private async doRelease(sn: string): Promise<Concentrator> {
    const c = await this.get(sn);
    if (c.state === 'pending') throw new ConflictException(`concentrator ${sn} is already pending`);
    await this.repo.update({ sn }, { state: 'pending', updatedAt: new Date() });
    const next = await this.get(sn);
    this.registry.put(next);
    await this.events.add({ sn, kind: 'released' });
    return next;
  }

  remove(sn: string, purge: boolean, actor: Actor | null = null): Promise<void> {
    return this.audited(actor, 'concentrator.delete', sn, { purge }, () =>
      this.doRemove(sn, purge),
    );
  }

  private async doRemove(sn: string, purge: boolean): Promise<void> {
    const c = await this.get(sn);
    if (c.state === 'managed') {
      throw new ConflictException('concentrator is managed: release it first');
    }
    await this.dataSource.transaction(async (m) => {
      await m.delete(Concentrator, { sn, state: 'pending' });
      if (purge) await m.query('DELETE FROM telemetry WHERE sn = $1', [sn]);
    });
    this.registry.remove(sn);
    await this.events.add({ sn, kind: 'deleted', detail: { purge } });
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
