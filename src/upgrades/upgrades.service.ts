import {
  BadRequestException,
  ConflictException,
  HttpException,
  Inject,
  Injectable,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ConcentratorsService } from '../concentrators/concentrators.service';
import { Firmware } from '../firmware/firmware.entity';
import { isVersionLabel, normaliseSha256, VERSION_RULE } from '../firmware/firmware-rules';
import { FirmwareService } from '../firmware/firmware.service';
import { encodeBackendMessage } from '../protocol/backend-messages';
import {
  CreateUpgradeDto,
  ListUpgradesQuery,
  UpgradeCampaignPage,
  UpgradeCampaignView,
} from './dto/upgrade.dto';
import { DeviceFacts, planTargets } from './eligibility';
import { UpgradeRunner } from './upgrade-runner.service';
import { UpgradeStore } from './upgrade-store';
import { campaignSummary, campaignView } from './upgrade-views';
import { checkUpgradeUrl } from './upgrade-url';

interface Source {
  firmwareId: string | null;
  url: string;
  sha256: string;
  size: number;
  version: string;
  model: string | null;
}

/** What a campaign needs to know of a target concentrator (read through ConcentratorsService). */
interface TargetDevice extends DeviceFacts {
  /** Only managed concentrators may be targets. */
  state: string;
}

/** Creating and reading campaigns; the runner does the sending. */
@Injectable()
export class UpgradesService implements OnModuleInit {
  constructor(
    private readonly store: UpgradeStore,
    private readonly concentrators: ConcentratorsService,
    private readonly firmware: FirmwareService,
    private readonly runner: UpgradeRunner,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** An image a running campaign installs stays: its devices still download it. */
  onModuleInit(): void {
    this.firmware.addDeletionGuard(async (firmwareId) => {
      const running = await this.store.runningCampaignOf(firmwareId);
      return running ? `campaign ${running} is still installing this image` : null;
    });
  }

  /** Every attempt is audited, refusals with the reason (bad URL, downgrade, unknown targets …). */
  async create(
    dto: CreateUpgradeDto,
    actor: Actor | null,
    ip?: string,
  ): Promise<UpgradeCampaignView> {
    const detail: Record<string, unknown> = {
      firmwareId: dto.firmwareId,
      url: typeof dto.url === 'string' ? dto.url.slice(0, 300) : undefined,
      sha256: dto.sha256?.slice(0, 80),
      size: dto.size,
      version: dto.version?.slice(0, 64),
      targets: Array.isArray(dto.targets) ? { count: dto.targets.length } : dto.targets,
      allowDowngrade: dto.allowDowngrade ?? false,
    };
    try {
      const view = await this.doCreate(dto, actor);
      await this.audit.record({
        actor,
        action: 'upgrade.create',
        target: view.id,
        outcome: 'ok',
        statusCode: 201,
        ip,
        detail: { ...detail, totals: view.totals, skipped: skippedOf(view) },
      });
      void this.runner.kick();
      return view;
    } catch (err) {
      const status = err instanceof HttpException ? err.getStatus() : 500;
      const body = err instanceof HttpException ? err.getResponse() : undefined;
      await this.audit.record({
        actor,
        action: 'upgrade.create',
        outcome: status < 500 ? 'refused' : 'failed',
        statusCode: status,
        ip,
        detail: {
          ...detail,
          error: (err as Error).message,
          refusal: typeof body === 'object' ? body : undefined,
        },
      });
      throw err;
    }
  }

  private async doCreate(dto: CreateUpgradeDto, actor: Actor | null): Promise<UpgradeCampaignView> {
    const source = await this.resolveSource(dto);
    const devices = await this.resolveTargets(dto.targets);
    const allowDowngrade = dto.allowDowngrade ?? false;
    const busy = await this.store.busy(devices.map((d) => d.sn));
    const plan = planTargets(devices, busy, {
      version: source.version,
      model: source.model,
      allowDowngrade,
    });
    if (plan.every((p) => p.reason)) {
      throw new ConflictException({
        message: 'no target is eligible for this upgrade',
        targets: plan.map((p) => ({ sn: p.sn, fw: p.fw, reason: p.reason, detail: p.detail })),
      });
    }
    const deadlineH = dto.deadlineH ?? this.config.firmware.deadlineH;
    const createdAt = new Date();
    const id = await this.store.createCampaign(
      {
        ...source,
        allowDowngrade,
        site: Array.isArray(dto.targets) ? null : dto.targets.site,
        createdBy: actor?.name ?? 'anonymous',
        createdByRole: actor?.role ?? null,
        createdAt,
        deadlineAt: new Date(createdAt.getTime() + deadlineH * 3600_000),
      },
      plan.map((p) => ({
        sn: p.sn,
        state: p.reason ? 'skipped' : 'queued',
        fromVersion: p.fw,
        reason: p.detail,
        finishedAt: p.reason ? createdAt : null,
      })),
    );
    return this.get(id);
  }

  private async resolveSource(dto: CreateUpgradeDto): Promise<Source> {
    const external = dto.url !== undefined || dto.sha256 !== undefined || dto.size !== undefined;
    if (dto.firmwareId !== undefined && external) {
      throw new BadRequestException('give either firmwareId or {url, sha256, size}, not both');
    }
    if (dto.version !== undefined && !isVersionLabel(dto.version))
      throw new BadRequestException(VERSION_RULE);
    if (dto.firmwareId !== undefined) return this.uploadedSource(dto.firmwareId, dto.version);
    if (!external) throw new BadRequestException('give firmwareId, or url with sha256 and size');
    const missing = (['url', 'sha256', 'size', 'version'] as const).filter(
      (k) => dto[k] === undefined,
    );
    if (missing.length)
      throw new BadRequestException(`an external image needs ${missing.join(', ')}`);
    const url = checkUpgradeUrl(dto.url, this.config.firmware.httpAllowHosts);
    if (!url.ok) throw new BadRequestException(url.reason);
    const sha256 = normaliseSha256(dto.sha256);
    if (!sha256) throw new BadRequestException('sha256 must be 64 hex digits');
    if (!Number.isSafeInteger(dto.size) || dto.size! <= 0) {
      throw new BadRequestException('size must be a positive integer (bytes)');
    }
    const source = {
      firmwareId: null,
      url: url.url,
      sha256,
      size: dto.size!,
      version: dto.version!,
      model: null,
    };
    assertSendable(source);
    return source;
  }

  private async uploadedSource(firmwareId: string, version: string | undefined): Promise<Source> {
    let f: Firmware;
    try {
      f = await this.firmware.get(firmwareId);
    } catch (err) {
      if (err instanceof NotFoundException)
        throw new BadRequestException(`unknown firmwareId ${firmwareId}`);
      throw err;
    }
    if (version !== undefined && version !== f.version) {
      throw new BadRequestException(
        `version ${version} does not match the image's version ${f.version}`,
      );
    }
    const url = this.firmware.downloadUrl(f.sha256);
    if (!url) {
      throw new BadRequestException(
        'PUBLIC_BASE_URL is not set: devices need an address of this server they can reach ' +
          '(e.g. http://10.0.0.2:3000, not localhost) to download uploaded firmware',
      );
    }
    const source = {
      firmwareId: f.id,
      url,
      sha256: f.sha256,
      size: f.size,
      version: f.version,
      model: f.model,
    };
    assertSendable(source);
    return source;
  }

  private async resolveTargets(targets: CreateUpgradeDto['targets']): Promise<TargetDevice[]> {
    if (!Array.isArray(targets)) {
      const rows = await this.concentrators.managedAtSite(targets.site);
      if (!rows.length)
        throw new BadRequestException(`no managed concentrator at site ${targets.site}`);
      return rows;
    }
    const sns = [...new Set(targets)];
    const rows: TargetDevice[] = await this.concentrators.bySerials(sns);
    const found = new Map(rows.map((r) => [r.sn, r]));
    const unknown = sns.filter((sn) => !found.has(sn));
    const pending = rows.filter((r) => r.state !== 'managed').map((r) => r.sn);
    if (unknown.length || pending.length) {
      throw new BadRequestException({
        message: `targets must be managed concentrators; unknown: [${unknown.join(', ')}], pending: [${pending.join(', ')}]`,
        unknown,
        pending,
      });
    }
    return sns.map((sn) => found.get(sn)!);
  }

  async get(id: string): Promise<UpgradeCampaignView> {
    const c = await this.store.campaign(id);
    if (!c) throw new NotFoundException('upgrade campaign not found');
    return campaignView(c, await this.store.targetsOf(id));
  }

  async list(q: ListUpgradesQuery): Promise<UpgradeCampaignPage> {
    const [rows, total] = await this.store.listCampaigns(q);
    const counts = await this.store.stateCounts(rows.map((r) => r.id));
    return {
      items: rows.map((c) =>
        campaignSummary(
          c,
          counts.filter((r) => r.campaignId === c.id),
        ),
      ),
      total,
      limit: q.limit,
      offset: q.offset,
    };
  }
}

/** The protocol encoder is the last word on what can go on the wire; ask it before storing. */
function assertSendable(s: Source): void {
  try {
    encodeBackendMessage({
      sn: '000000000000',
      type: 'upgrade',
      id: 'u-check',
      ts: 0,
      url: s.url,
      version: s.version,
      sha256: s.sha256,
      size: s.size,
    });
  } catch (err) {
    throw new BadRequestException(
      `the upgrade command would be invalid: ${(err as Error).message}`,
    );
  }
}

function skippedOf(view: UpgradeCampaignView) {
  return view.targets
    .filter((t) => t.state === 'skipped')
    .map((t) => ({ sn: t.sn, reason: t.reason }));
}
