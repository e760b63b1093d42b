/**
 * The raw statements of the commands table. Everything else about the table
 * goes through the repository in CommandStore.
 */

/**
 * $1 serial. Serialises the storing transactions of one concentrator across
 * instances, so a cooldown check and an Idempotency-Key expiry see every
 * command stored before them.
 */
export const LOCK_SERIAL_COMMANDS = `SELECT pg_advisory_xact_lock(hashtext('command:' || $1))`;

/**
 * $1 serial, $2 since, $3 lines (null = all). The newest switch since $2 that
 * touches one of the lines; `null` lines on either side mean "all", which
 * touches every line.
 */
export const LAST_SWITCH_SINCE = `
SELECT max(created_at) AS last FROM commands
 WHERE sn = $1 AND type = 'switch' AND created_at > $2
   AND (lines IS NULL OR $3::int[] IS NULL OR lines && $3::int[])`;

/**
 * $1 days. Final commands older than that, except those that carried a
 * concentrator's current desired state: its GET still shows them.
 */
export const PRUNE_FINAL_COMMANDS = `
DELETE FROM commands c
 WHERE c.state <> 'sent' AND c.created_at < now() - make_interval(days => $1)
   AND NOT EXISTS (SELECT 1 FROM desired_state d WHERE d.command_id = c.id)
   AND NOT EXISTS (SELECT 1 FROM concentrators k WHERE k.config_command_id = c.id)`;

/** Commands by type and state, for /metrics. */
export const COUNT_BY_TYPE_STATE = `
SELECT type, state, count(*)::int AS n FROM commands GROUP BY type, state`;
