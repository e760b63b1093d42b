import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, QueryFailedError, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { SqlRunner } from '../database/sql-runner';
import { Actor } from '../identity/roles';
import { ListTariffsQuery, PutTariffDto, TariffPage, TariffView } from './dto/tariff.dto';
import { AssignmentKind, TariffAssignment } from './entities/tariff-assignment.entity';
import { Tariff } from './entities/tariff.entity';
import { checkRates, sortedRates } from './tariff-pricing';
import { CHECK_TIME_ZONE } from './tariffs.sql';

/** The tariff that prices a concentrator's energy, and whether it is its own or its site's. */
export interface AppliedTariff {
  tariff: Tariff;
  via: AssignmentKind;
}

/** At most this many serials or sites are written into one audit entry (the count always is). */
const AUDIT_LIST_MAX = 100;

/** The zone database's spelling of a zone the validator accepted (europe/berlin → Europe/Berlin). */
export function canonicalZone(tz: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
}

export function toTariffView(t: Tariff, assigned: readonly TariffAssignment[]): TariffView {
  const of = (kind: AssignmentKind) =>
    assigned
      .filter((a) => a.kind === kind)
      .map((a) => a.target)
      .sort();
  return {
    id: t.id,
    name: t.name,
    currency: t.currency,
    tz: t.tz,
    rates: t.rates.map((r) => ({
      effectiveFrom: r.effectiveFrom,
      pricePerKwh: [...r.pricePerKwh],
    })),
    concentrators: of('concentrator'),
    sites: of('site'),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    updatedBy: t.updatedBy,
  };
}

/**
 * Time-of-use tariffs (`tariffs`) and which concentrators and sites use them
 * (`tariff_assignments`). A PUT creates or replaces a tariff with its
 * assignments, in one transaction, audited as `tariff.put`.
 */
@Injectable()
export class TariffsService {
  constructor(
    @InjectRepository(Tariff) private readonly tariffs: Repository<Tariff>,
    @InjectRepository(TariffAssignment)
    private readonly assignments: Repository<TariffAssignment>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sql: SqlRunner,
    private readonly audit: AuditService,
  ) {}

  async get(id: string): Promise<TariffView> {
    const t = await this.tariffs.findOneBy({ id });
    if (!t) throw new NotFoundException(`tariff ${id} not found`);
    return toTariffView(t, await this.assignments.findBy({ tariffId: id }));
  }

  async list(q: ListTariffsQuery): Promise<TariffPage> {
    const [rows, total] = await this.tariffs.findAndCount({
      order: { id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
    const assigned = rows.length
      ? await this.assignments.findBy({ tariffId: In(rows.map((t) => t.id)) })
      : [];
    return {
      items: rows.map((t) =>
        toTariffView(
          t,
          assigned.filter((a) => a.tariffId === t.id),
        ),
      ),
      total,
      limit: q.limit,
      offset: q.offset,
    };
  }

  /** Creates or replaces tariff `id` and its assignments (idempotent), audited as `tariff.put`. */
  put(
    id: string,
    dto: PutTariffDto,
    actor: Actor | null,
    ip: string | null = null,
  ): Promise<TariffView> {
    const concentrators = dto.concentrators ?? [];
    const sites = dto.sites ?? [];
    const list = (xs: string[]) => (xs.length <= AUDIT_LIST_MAX ? xs : xs.slice(0, AUDIT_LIST_MAX));
    let created = false;
    return this.audit.audited(
      {
        actor,
        action: 'tariff.put',
        target: id,
        ip,
        detail: {
          name: dto.name ?? null,
          currency: dto.currency,
          tz: dto.tz,
          effectiveFrom: dto.rates.map((r) => r.effectiveFrom),
          concentratorCount: concentrators.length,
          concentrators: list(concentrators),
          siteCount: sites.length,
          sites: list(sites),
        },
      },
      async () => {
        const r = await this.doPut(id, dto, actor);
        created = r.created;
        return r.view;
      },
      () => ({ created }),
    );
  }

  private async doPut(
    id: string,
    dto: PutTariffDto,
    actor: Actor | null,
  ): Promise<{ view: TariffView; created: boolean }> {
    const errors = checkRates(dto.rates);
    if (errors.length) throw new BadRequestException(errors);
    const tz = canonicalZone(dto.tz);
    await this.checkZoneKnown(tz);
    const concentrators = dto.concentrators ?? [];
    const sites = dto.sites ?? [];
    const wanted: TariffAssignment[] = [
      ...concentrators.map((target) => ({ kind: 'concentrator' as const, target, tariffId: id })),
      ...sites.map((target) => ({ kind: 'site' as const, target, tariffId: id })),
    ];
    try {
      return await this.dataSource.transaction(async (m) => {
        const tariffs = m.getRepository(Tariff);
        const assignments = m.getRepository(TariffAssignment);
        const created = !(await tariffs.existsBy({ id }));
        const where = [
          ...(concentrators.length
            ? [{ kind: 'concentrator' as const, target: In(concentrators) }]
            : []),
          ...(sites.length ? [{ kind: 'site' as const, target: In(sites) }] : []),
        ];
        const taken = where.length
          ? (await assignments.find({ where })).filter((a) => a.tariffId !== id)
          : [];
        if (taken.length) throw new ConflictException(takenMessages(taken));
        // The upsert locks the tariff's row: PUTs of one tariff run one after the other.
        await tariffs
          .createQueryBuilder()
          .insert()
          .values({
            id,
            name: dto.name ?? null,
            currency: dto.currency,
            tz,
            rates: sortedRates(dto.rates),
            updatedAt: new Date(),
            updatedBy: actor?.name ?? 'anonymous',
          })
          .orUpdate(['name', 'currency', 'tz', 'rates', 'updated_at', 'updated_by'], ['id'])
          .execute();
        await assignments.delete({ tariffId: id });
        if (wanted.length) await assignments.insert(wanted);
        const t = await tariffs.findOneByOrFail({ id });
        return { view: toTariffView(t, wanted), created };
      });
    } catch (err) {
      // Another tariff took one of these serials or sites since the check above.
      if (err instanceof QueryFailedError && codeOf(err) === '23505') {
        throw new ConflictException(
          'a concentrator or site was assigned to another tariff meanwhile: retry',
        );
      }
      throw err;
    }
  }

  private async checkZoneKnown(tz: string): Promise<void> {
    try {
      await this.sql.rows(CHECK_TIME_ZONE, [tz]);
    } catch (err) {
      if (codeOf(err) === '22023') {
        throw new BadRequestException(`tz ${tz} is not a time zone the database knows`);
      }
      throw err;
    }
  }

  /**
   * The tariff that prices a concentrator's energy: its own, else its site's;
   * null when neither has one.
   */
  async appliedTo(sn: string, site: string | null): Promise<AppliedTariff | null> {
    const rows = await this.assignments.find({
      where: [
        { kind: 'concentrator', target: sn },
        ...(site ? [{ kind: 'site' as const, target: site }] : []),
      ],
    });
    const pick = rows.find((r) => r.kind === 'concentrator') ?? rows.find((r) => r.kind === 'site');
    if (!pick) return null;
    const tariff = await this.tariffs.findOneBy({ id: pick.tariffId });
    return tariff ? { tariff, via: pick.kind } : null;
  }
}

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

function takenMessages(taken: readonly TariffAssignment[]): string[] {
  return taken.map(
    (a) => `${a.kind} ${a.target} is assigned to tariff ${a.tariffId}: remove it there first`,
  );
}
