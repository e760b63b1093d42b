import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ConcentratorRegistry } from './concentrator-registry.service';
import { ConcentratorsService } from './concentrators.service';
import { Concentrator, SyncState } from './entities/concentrator.entity';

/** A concentrator's desired config: all three set, or none (the device keeps its own). */
export interface DesiredConfig {
  reportS: number;
  heartbeatS: number;
  deltaPct: number;
}

export interface DesiredConfigState {
  /** null when none is set: then nothing is pushed. */
  desired: DesiredConfig | null;
  sync: SyncState | null;
  /** The command that carries the current value (null until one is sent). */
  commandId: string | null;
}

function desiredConfig(
  c: Pick<Concentrator, 'reportS' | 'heartbeatS' | 'deltaPct'>,
): DesiredConfig | null {
  if (c.reportS === null || c.heartbeatS === null || c.deltaPct === null) return null;
  return { reportS: c.reportS, heartbeatS: c.heartbeatS, deltaPct: c.deltaPct };
}

/**
 * The config columns of `concentrators`: desired-state decides what to push,
 * the registry stores it (the registry judges silence by report_s).
 */
@Injectable()
export class ConcentratorConfigService {
  constructor(
    @InjectRepository(Concentrator) private readonly repo: Repository<Concentrator>,
    private readonly concentrators: ConcentratorsService,
    private readonly registry: ConcentratorRegistry,
  ) {}

  /** The desired config of a registered concentrator (404 otherwise). */
  async desiredConfigOf(sn: string): Promise<DesiredConfigState> {
    const c = await this.concentrators.get(sn);
    return { desired: desiredConfig(c), sync: c.configSync, commandId: c.configCommandId };
  }

  /** The config to send: null unless the concentrator is managed and has one set. */
  async configToPush(sn: string): Promise<DesiredConfig | null> {
    const c = await this.repo.findOneBy({ sn, state: 'managed' });
    return c && desiredConfig(c);
  }

  /**
   * A new desired config: pending, carried by no command yet. The registry
   * judges silence by report_s, so its cache follows at once.
   */
  async setDesiredConfig(sn: string, config: DesiredConfig): Promise<void> {
    await this.repo.update(
      { sn },
      {
        reportS: config.reportS,
        heartbeatS: config.heartbeatS,
        deltaPct: config.deltaPct,
        configSync: 'pending',
        configCommandId: null,
        updatedAt: new Date(),
      },
    );
    this.registry.reportPeriodChanged(sn, config.reportS);
  }

  /**
   * Records the command that carries `config`; false (nothing recorded) when
   * the desired config changed meanwhile: a newer push carries that one.
   */
  async recordConfigPushed(sn: string, config: DesiredConfig, commandId: string): Promise<boolean> {
    const res = await this.repo.update(
      { sn, reportS: config.reportS, heartbeatS: config.heartbeatS, deltaPct: config.deltaPct },
      { configSync: 'pending', configCommandId: commandId },
    );
    return !!res.affected;
  }

  /** The device answered the command carrying its config; nothing when another command carries it now. */
  async recordConfigSettled(sn: string, commandId: string, sync: SyncState): Promise<void> {
    await this.repo.update({ sn, configCommandId: commandId }, { configSync: sync });
  }
}
