import { FINAL_TARGET_STATES } from './entities/upgrade-target.entity';

/**
 * The raw statements of upgrade_campaigns and upgrade_targets. Only
 * UpgradeStore runs them. Every row they return has the shape of the
 * entities (UpgradeTarget, UpgradeCampaign): the columns are aliased to the
 * entities' property names, so the code knows one shape of each table.
 */

const FINAL_SQL = `(${FINAL_TARGET_STATES.map((s) => `'${s}'`).join(', ')})`;

/** Every column of an upgrade_targets row `t`, named as in UpgradeTarget. */
export const TARGET_COLUMNS = `t.campaign_id AS "campaignId", t.sn, t.state, t.progress,
       t.from_version AS "fromVersion", t.reported_version AS "reportedVersion", t.reason,
       t.command_id AS "commandId", t.command_ids AS "commandIds", t.attempts,
       t.last_message AS "lastMessage", t.sent_at AS "sentAt", t.acked_at AS "ackedAt",
       t.progress_at AS "progressAt", t.finished_at AS "finishedAt", t.updated_at AS "updatedAt"`;

/** What the campaign `c` of a target installs, named as in UpgradeCampaign (size is bigint: text). */
export const ORDER_COLUMNS = `c.version, c.url, c.sha256, c.size, c.model,
       c.allow_downgrade AS "allowDowngrade", c.created_by AS "createdBy",
       c.created_by_role AS "createdByRole"`;

const TARGETS_WITH_ORDER = `SELECT ${TARGET_COLUMNS}, ${ORDER_COLUMNS}
  FROM upgrade_targets t JOIN upgrade_campaigns c ON c.id = t.campaign_id`;

/** $1 serial, $2 command id: the target (newest campaign first) that was sent that command. */
export const TARGET_BY_COMMAND = `${TARGETS_WITH_ORDER}
 WHERE t.sn = $1 AND $2 = ANY (t.command_ids) ORDER BY c.created_at DESC LIMIT 1`;

/** $1 serial: its targets whose command went out and that are not done (nor skipped). */
export const TARGETS_SENT_NOT_DONE = `${TARGETS_WITH_ORDER}
 WHERE t.sn = $1 AND t.command_id IS NOT NULL AND t.state NOT IN ('done', 'skipped')`;

/** $1 limit: queued targets of running campaigns before their deadline, oldest campaign first. */
export const QUEUED_TARGETS = `${TARGETS_WITH_ORDER}
 WHERE t.state = 'queued' AND c.state = 'running' AND c.deadline_at > now()
 ORDER BY c.created_at, t.sn LIMIT $1`;

/** Targets sent within the last minute (the pacing budget is per minute). */
export const SENT_IN_LAST_MINUTE = `
SELECT count(*)::int AS n FROM upgrade_targets WHERE sent_at > now() - interval '60 seconds'`;

/**
 * $1 campaign, $2 serial, $3 the states it may move from, $4 the command it
 * must still be waiting on (null: any), then the values of `sets`. Returns
 * what the live event shows.
 */
export function transitionTarget(sets: string[]): string {
  return `
UPDATE upgrade_targets SET ${sets.join(', ')}
 WHERE campaign_id = $1 AND sn = $2 AND state = ANY ($3::text[])
   AND ($4::text IS NULL OR command_id = $4)
 RETURNING state, progress, reason, reported_version AS "reportedVersion", command_id AS "commandId"`;
}

/** $1 campaign, $2 serial, $3 the message (JSON). */
export const NOTE_TARGET_MESSAGE = `
UPDATE upgrade_targets SET last_message = $3, progress_at = now(), updated_at = now()
 WHERE campaign_id = $1 AND sn = $2`;

/** $1 campaign, $2 serial, $3 command id. */
export const ATTACH_TARGET_COMMAND = `
UPDATE upgrade_targets
   SET command_id = $3, command_ids = array_append(command_ids, $3), updated_at = now()
 WHERE campaign_id = $1 AND sn = $2`;

/** Targets still open when their running campaign's deadline has passed become `expired`. */
export const EXPIRE_DUE_TARGETS = `
UPDATE upgrade_targets t
   SET state = 'expired', finished_at = now(), updated_at = now(),
       reason = 'campaign deadline passed while ' || t.state
  FROM upgrade_campaigns c
 WHERE c.id = t.campaign_id AND c.state = 'running' AND c.deadline_at <= now()
   AND t.state NOT IN ${FINAL_SQL}
 RETURNING t.campaign_id AS "campaignId", t.sn, c.version`;

/** Running campaigns whose every target is final are finished. */
export const FINISH_COMPLETED_CAMPAIGNS = `
UPDATE upgrade_campaigns c SET state = 'finished', finished_at = now()
 WHERE c.state = 'running'
   AND NOT EXISTS (SELECT 1 FROM upgrade_targets t
                    WHERE t.campaign_id = c.id AND t.state NOT IN ${FINAL_SQL})`;

/** $1 serials: those with an open target in a running campaign. */
export const BUSY_SERIALS = `
SELECT DISTINCT t.sn FROM upgrade_targets t JOIN upgrade_campaigns c ON c.id = t.campaign_id
 WHERE c.state = 'running' AND t.sn = ANY ($1::text[]) AND t.state NOT IN ${FINAL_SQL}`;

/** $1 campaign ids: number of targets per campaign and state. */
export const TARGET_STATE_COUNTS = `
SELECT t.campaign_id AS "campaignId", t.state, count(*)::int AS n
  FROM upgrade_targets t
 WHERE t.campaign_id = ANY ($1::uuid[])
 GROUP BY t.campaign_id, t.state`;

/** $1 firmware id: a running campaign that installs it (its devices still download it). */
export const RUNNING_CAMPAIGN_OF_FIRMWARE = `
SELECT id FROM upgrade_campaigns WHERE firmware_id = $1 AND state = 'running' LIMIT 1`;
