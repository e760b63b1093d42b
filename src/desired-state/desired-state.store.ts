import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, Not, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { SyncState } from '../concentrators/concentrators.service';
import { ParamsLine, ScheduleItem } from '../protocol/backend-messages';
import { DesiredKind, DesiredState } from './desired-state.entity';

type WireValue = ScheduleItem[] | ParamsLine[];

/**
 * The `desired_state` table: desired schedules and params, the command that
 * carries each, and what the device last reported. Every read and write of
 * the table is one of these methods.
 */
@Injectable()
export class DesiredStateStore {
  constructor(@InjectRepository(DesiredState) private readonly repo: Repository<DesiredState>) {}

  /** The sync of each serial's desired schedules and params (null where none is desired). */
  async syncOf(
    sns: string[],
  ): Promise<Map<string, { schedules: SyncState | null; params: SyncState | null }>> {
    const rows = await this.repo.find({
      select: { sn: true, kind: true, sync: true },
      where: { sn: In(sns), desired: Not(IsNull()) },
    });
    const out = new Map<string, { schedules: SyncState | null; params: SyncState | null }>();
    for (const r of rows) {
      const e = out.get(r.sn) ?? { schedules: null, params: null };
      if (r.kind === 'schedules') e.schedules = r.sync;
      else if (r.kind === 'params') e.params = r.sync;
      out.set(r.sn, e);
    }
    return out;
  }

  find(sn: string, kind: DesiredKind): Promise<DesiredState | null> {
    return this.repo.findOneBy({ sn, kind });
  }

  /** A new desired value: pending, carried by no command yet. */
  async setDesired(sn: string, kind: DesiredKind, value: WireValue, by: string): Promise<void> {
    await this.repo.upsert(
      {
        sn,
        kind,
        desired: value as unknown as Record<string, unknown>[],
        updatedAt: new Date(),
        updatedBy: by,
        sync: 'pending',
        commandId: null,
      } as QueryDeepPartialEntity<DesiredState>,
      ['sn', 'kind'],
    );
  }

  /**
   * Records the command that carries `desired`; false (nothing recorded) when
   * the desired value changed meanwhile: a newer push carries that one.
   */
  async recordCarrier(
    sn: string,
    kind: DesiredKind,
    desired: unknown,
    commandId: string,
  ): Promise<boolean> {
    const res = await this.repo
      .createQueryBuilder()
      .update(DesiredState)
      .set({ sync: 'pending', commandId })
      .where('sn = :sn AND kind = :kind AND desired = :desired::jsonb', {
        sn,
        kind,
        desired: JSON.stringify(desired),
      })
      .execute();
    return !!res.affected;
  }

  /** The device answered the carrying command; nothing when another command carries the value now. */
  async recordSettled(
    sn: string,
    kind: DesiredKind,
    commandId: string,
    sync: SyncState,
  ): Promise<void> {
    await this.repo.update({ sn, kind, commandId }, { sync });
  }

  /** What the device reported (answer to a query), beside the desired value. */
  async recordReport(
    sn: string,
    kind: DesiredKind,
    value: WireValue,
    at: Date,
    commandId: string | null,
  ): Promise<void> {
    await this.repo.upsert(
      {
        sn,
        kind,
        reported: value as unknown as Record<string, unknown>[],
        reportedAt: at,
        reportedCommandId: commandId,
      } as QueryDeepPartialEntity<DesiredState>,
      ['sn', 'kind'],
    );
  }
}
