import { createHash } from 'node:crypto';
import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  UnprocessableEntityException,
} from '@nestjs/common';
import { AuditService, failureOf } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CachedConcentrator } from '../concentrators/concentrator-registry.service';
import { Command } from './command.entity';
import { toCommandView } from './command-view';
import { LockedCommands } from './command-store';
import { CommandsService, IdempotentReplay } from './commands.service';
import {
  BulkSwitchDto,
  BulkSwitchResult,
  BulkSwitchView,
  LineSelection,
  SwitchDto,
} from './dto/switch.dto';

/** 429 with the seconds to wait; the audit interceptor turns it into a Retry-After header. */
export class CooldownException extends HttpException {
  constructor(
    readonly retryAfterS: number,
    lines: number[] | null,
  ) {
    super(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `line${lines && lines.length === 1 ? '' : 's'} ${lines ? lines.join(',') : 'all'} switched less than the cooldown ago`,
        retryAfterS,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

export interface SwitchOutcome {
  command: Command;
  /** true when an Idempotency-Key matched an earlier request: nothing was published. */
  replayed: boolean;
}

const BULK_CONCURRENCY = 8;

/** Switching: line checks, the per-line cooldown, Idempotency-Key, and bulk fan-out. */
@Injectable()
export class SwitchService {
  private readonly log = new Logger('Switch');

  constructor(
    private readonly commands: CommandsService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async switch(
    sn: string,
    dto: SwitchDto,
    actor: Actor | null,
    ip?: string,
    idempotencyKey?: string,
  ): Promise<SwitchOutcome> {
    const hash = requestHash(sn, dto);
    if (idempotencyKey !== undefined) {
      const first = await this.commands.findByIdempotencyKey(actor, idempotencyKey);
      if (first) return this.replay(first, hash, actor, ip);
    }
    const dev = await this.commands.target(sn);
    const lines = resolveLines(dev, dto.lines);
    try {
      const command = await this.commands.dispatch(
        { sn, message: { type: 'switch', lines: dto.lines, on: dto.on }, actor, ip },
        {
          lines,
          idempotency: idempotencyKey !== undefined ? { key: idempotencyKey, hash } : undefined,
          guard: (locked) => this.checkCooldown(locked, sn, lines),
        },
      );
      return { command, replayed: false };
    } catch (err) {
      if (err instanceof IdempotentReplay) return this.replay(err.command, hash, actor, ip);
      throw err;
    }
  }

  private async replay(
    first: Command,
    hash: string,
    actor: Actor | null,
    ip?: string,
  ): Promise<SwitchOutcome> {
    if (first.requestHash !== hash) {
      throw new UnprocessableEntityException(
        `Idempotency-Key was already used for a different request (command ${first.id})`,
      );
    }
    await this.audit.record({
      actor,
      action: 'command.switch',
      target: first.sn,
      outcome: 'ok',
      statusCode: 202,
      detail: { commandId: first.id, idempotentReplay: true },
      ip: ip ?? null,
    });
    return { command: first, replayed: true };
  }

  /**
   * A line switched (any command published, whatever its outcome) less than
   * SWITCH_COOLDOWN_S ago refuses the whole request. `null` lines mean "all".
   */
  private async checkCooldown(
    locked: LockedCommands,
    sn: string,
    lines: number[] | null,
  ): Promise<void> {
    const cooldownS = this.config.commands.switchCooldownS;
    if (cooldownS <= 0) return;
    const last = await locked.lastSwitchSince(new Date(Date.now() - cooldownS * 1000), lines);
    if (!last) return;
    const waitMs = last.getTime() + cooldownS * 1000 - Date.now();
    throw new CooldownException(Math.max(1, Math.ceil(waitMs / 1000)), lines);
  }

  async bulk(dto: BulkSwitchDto, actor: Actor | null, ip?: string): Promise<BulkSwitchView> {
    const max = this.config.commands.bulkSwitchMax;
    if (dto.targets.length > max) {
      throw new BadRequestException(`at most ${max} targets per request (BULK_SWITCH_MAX)`);
    }
    const seen = new Set<string>();
    for (const t of dto.targets) {
      if (seen.has(t.sn)) throw new BadRequestException(`targets: ${t.sn} is listed twice`);
      seen.add(t.sn);
    }
    const results: BulkSwitchResult[] = new Array<BulkSwitchResult>(dto.targets.length);
    // After a server-side failure (database, broker) the rest is not attempted:
    // the answer then still says exactly which targets were switched.
    let stoppedBy: string | undefined;
    let next = 0;
    const worker = async () => {
      while (next < dto.targets.length) {
        const i = next++;
        const t = dto.targets[i];
        const sel = { lines: t.lines, on: dto.on };
        results[i] = stoppedBy
          ? await this.notAttempted(t.sn, sel, stoppedBy, actor, ip)
          : await this.bulkOne(t.sn, sel, actor, ip);
        if (!stoppedBy && results[i].statusCode >= 500) stoppedBy = t.sn;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(BULK_CONCURRENCY, dto.targets.length) }, worker),
    );
    const sent = results.filter((r) => r.command).length;
    return { sent, refused: results.length - sent, results };
  }

  private async bulkOne(
    sn: string,
    dto: SwitchDto,
    actor: Actor | null,
    ip?: string,
  ): Promise<BulkSwitchResult> {
    try {
      const { command } = await this.switch(sn, dto, actor, ip);
      return { sn, statusCode: HttpStatus.ACCEPTED, command: toCommandView(command) };
    } catch (err) {
      const f = failureOf(err);
      if (f.statusCode >= 500) {
        this.log.error(`bulk switch of ${sn} failed: ${(err as Error).stack ?? String(err)}`);
      }
      const r: BulkSwitchResult = { sn, statusCode: f.statusCode, error: f.error };
      if (err instanceof CooldownException) r.retryAfterS = err.retryAfterS;
      await this.auditRefusal(r, dto, actor, ip);
      return r;
    }
  }

  private async notAttempted(
    sn: string,
    dto: SwitchDto,
    failedSn: string,
    actor: Actor | null,
    ip?: string,
  ): Promise<BulkSwitchResult> {
    const r: BulkSwitchResult = {
      sn,
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: `not attempted: stopped after a server-side failure on ${failedSn}`,
    };
    await this.auditRefusal(r, dto, actor, ip);
    return r;
  }

  private auditRefusal(
    r: BulkSwitchResult,
    dto: SwitchDto,
    actor: Actor | null,
    ip?: string,
  ): Promise<void> {
    return this.audit.record({
      actor,
      action: 'command.switch',
      target: r.sn,
      outcome: r.statusCode < 500 ? 'refused' : 'failed',
      statusCode: r.statusCode,
      detail: { bulk: true, error: r.error, lines: dto.lines, on: dto.on },
      ip: ip ?? null,
    });
  }
}

/** Lines as stored for the cooldown: "all" is every line (null when the count is unknown). */
function resolveLines(dev: CachedConcentrator, sel: LineSelection): number[] | null {
  const count = dev.lineCount;
  if (sel === 'all') return count ? Array.from({ length: count }, (_, i) => i + 1) : null;
  if (count) {
    const beyond = sel.filter((n) => n > count);
    if (beyond.length) {
      throw new BadRequestException(
        `line ${beyond.join(',')} is beyond the concentrator's ${count} line${count === 1 ? '' : 's'}`,
      );
    }
  }
  return [...sel].sort((a, b) => a - b);
}

function requestHash(sn: string, dto: SwitchDto): string {
  return createHash('sha256')
    .update(JSON.stringify(['switch', sn, dto.lines, dto.on]))
    .digest('hex');
}
