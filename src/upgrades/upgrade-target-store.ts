import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { pgPool } from '../database/pg-pool';
import { LiveFeed } from '../live/live-feed.service';
import { FINAL_TARGET_STATES, TargetState } from './entities/upgrade-target.entity';

/** A target row joined with what its campaign installs. */
export interface TargetRow {
  campaign_id: string;
  sn: string;
  state: TargetState;
  progress: number | null;
  reported_version: string | null;
  reason: string | null;
  command_id: string | null;
  attempts: number;
  sent_at: Date | null;
  version: string;
  url: string;
  sha256: string;
  size: string;
  model: string | null;
  allow_downgrade: boolean;
  created_by: string;
  created_by_role: string | null;
}

const JOINED = `SELECT t.campaign_id, t.sn, t.state, t.progress, t.reported_version, t.reason, t.command_id,
                       t.attempts, t.sent_at, c.version, c.url, c.sha256, c.size, c.model, c.allow_downgrade,
                       c.created_by, c.created_by_role
                  FROM upgrade_targets t JOIN upgrade_campaigns c ON c.id = t.campaign_id`;

const FINAL_SQL = `(${FINAL_TARGET_STATES.map((s) => `'${s}'`).join(', ')})`;

/** Columns a transition may set; values are parameters, `now` stamps a time column. */
export interface TargetPatch {
  state?: TargetState;
  progress?: number | null;
  reported_version?: string | null;
  reason?: string | null;
  last_message?: Record<string, unknown>;
  attempts?: number;
  sent_at?: Date | null | 'now';
  acked_at?: 'now' | 'keep_or_now';
  progress_at?: 'now';
  finished_at?: 'now' | null;
}

/**
 * Every write to upgrade_targets, as conditional updates ("only from these
 * states"), so that concurrent events (an ack and a progress message, a
 * timeout and a late report) never move a target backwards. Each change of
 * state or progress is published as a live `upgrade` event.
 */
@Injectable()
export class UpgradeTargetStore {
  private readonly pool: Pool;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly live: LiveFeed,
  ) {
    this.pool = pgPool(dataSource);
  }

  async byCommand(sn: string, commandId: string): Promise<TargetRow | undefined> {
    const { rows } = await this.pool.query<TargetRow>(
      `${JOINED} WHERE t.sn = $1 AND $2 = ANY (t.command_ids) ORDER BY c.created_at DESC LIMIT 1`,
      [sn, commandId],
    );
    return rows[0];
  }

  /** Targets of a serial whose command went out and that are not done yet. */
  async sentNotDone(sn: string): Promise<TargetRow[]> {
    const { rows } = await this.pool.query<TargetRow>(
      `${JOINED} WHERE t.sn = $1 AND t.command_id IS NOT NULL AND t.state NOT IN ('done', 'skipped')`,
      [sn],
    );
    return rows;
  }

  async queued(limit: number): Promise<TargetRow[]> {
    const { rows } = await this.pool.query<TargetRow>(
      `${JOINED} WHERE t.state = 'queued' AND c.state = 'running' AND c.deadline_at > now()
        ORDER BY c.created_at, t.sn LIMIT $1`,
      [limit],
    );
    return rows;
  }

  async sentInLastMinute(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM upgrade_targets WHERE sent_at > now() - interval '60 seconds'`,
    );
    return rows[0].n;
  }

  /** Applies `patch` if the target is in one of `from`; returns whether it did. */
  async transition(
    t: Pick<TargetRow, 'campaign_id' | 'sn' | 'version'>,
    from: readonly TargetState[],
    patch: TargetPatch,
    extraWhere = '',
    extraParams: unknown[] = [],
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [t.campaign_id, t.sn, [...from], ...extraParams];
    for (const [col, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      if (value === 'now') sets.push(`${col} = now()`);
      else if (value === 'keep_or_now') sets.push(`${col} = coalesce(${col}, now())`);
      else {
        params.push(col === 'last_message' ? JSON.stringify(value) : value);
        sets.push(`${col} = $${params.length}`);
      }
    }
    const { rows } = await this.pool.query<{
      state: TargetState;
      progress: number | null;
      reason: string | null;
      reported_version: string | null;
      command_id: string | null;
    }>(
      `UPDATE upgrade_targets SET ${sets.join(', ')}
        WHERE campaign_id = $1 AND sn = $2 AND state = ANY ($3::text[]) ${extraWhere}
        RETURNING state, progress, reason, reported_version, command_id`,
      params,
    );
    const row = rows[0];
    if (!row) return false;
    if (patch.state !== undefined || patch.progress !== undefined) {
      this.live.emit({
        kind: 'upgrade',
        sn: t.sn,
        at: new Date().toISOString(),
        upgrade: {
          campaignId: t.campaign_id,
          version: t.version,
          state: row.state,
          progress: row.progress,
          reportedVersion: row.reported_version,
          commandId: row.command_id,
          reason: row.reason,
        },
      });
    }
    return true;
  }

  /** Records what the device said without changing the state (e.g. a report on a settled target). */
  async note(
    t: Pick<TargetRow, 'campaign_id' | 'sn'>,
    message: Record<string, unknown>,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE upgrade_targets SET last_message = $3, progress_at = now(), updated_at = now()
        WHERE campaign_id = $1 AND sn = $2`,
      [t.campaign_id, t.sn, JSON.stringify(message)],
    );
  }

  async attachCommand(t: Pick<TargetRow, 'campaign_id' | 'sn'>, commandId: string): Promise<void> {
    await this.pool.query(
      `UPDATE upgrade_targets SET command_id = $3, command_ids = array_append(command_ids, $3), updated_at = now()
        WHERE campaign_id = $1 AND sn = $2`,
      [t.campaign_id, t.sn, commandId],
    );
  }

  /** Targets still open when their campaign's deadline passes. */
  async expireDue(): Promise<Pick<TargetRow, 'campaign_id' | 'sn' | 'version'>[]> {
    const { rows } = await this.pool.query<Pick<TargetRow, 'campaign_id' | 'sn' | 'version'>>(
      `UPDATE upgrade_targets t
          SET state = 'expired', finished_at = now(), updated_at = now(),
              reason = 'campaign deadline passed while ' || t.state
         FROM upgrade_campaigns c
        WHERE c.id = t.campaign_id AND c.state = 'running' AND c.deadline_at <= now()
          AND t.state NOT IN ${FINAL_SQL}
        RETURNING t.campaign_id, t.sn, c.version`,
    );
    for (const r of rows) {
      this.live.emit({
        kind: 'upgrade',
        sn: r.sn,
        at: new Date().toISOString(),
        upgrade: { campaignId: r.campaign_id, version: r.version, state: 'expired' },
      });
    }
    return rows;
  }

  async finishCompleted(): Promise<void> {
    await this.pool.query(
      `UPDATE upgrade_campaigns c SET state = 'finished', finished_at = now()
        WHERE c.state = 'running'
          AND NOT EXISTS (SELECT 1 FROM upgrade_targets t
                           WHERE t.campaign_id = c.id AND t.state NOT IN ${FINAL_SQL})`,
    );
  }

  /** Serials with an open target in a running campaign (one upgrade at a time per device). */
  async busy(sns: string[]): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ sn: string }>(
      `SELECT DISTINCT t.sn FROM upgrade_targets t JOIN upgrade_campaigns c ON c.id = t.campaign_id
        WHERE c.state = 'running' AND t.sn = ANY ($1::text[]) AND t.state NOT IN ${FINAL_SQL}`,
      [sns],
    );
    return new Set(rows.map((r) => r.sn));
  }
}
