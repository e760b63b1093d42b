/**
 * The raw statements of the alarms table. Everything else about the table
 * goes through the repository in AlarmsService. Every statement returns plain
 * rows (SqlRunner.rows).
 */

// One statement, so two raises racing (here or on another instance) end as one
// open row with a repeat, never as a unique violation. Absent value/limit on a
// repeat keep the previous ones rather than blanking them.
export const RAISE_SQL = `
  INSERT INTO alarms AS a (sn, line, code, active, raised_at, raised_value, raised_limit,
                           last_at, last_value, last_limit)
  VALUES ($1, $2, $3, true, $4, $5, $6, $4, $5, $6)
  ON CONFLICT (sn, line, code) WHERE active DO UPDATE SET
    last_at = EXCLUDED.last_at,
    last_value = COALESCE(EXCLUDED.last_value, a.last_value),
    last_limit = COALESCE(EXCLUDED.last_limit, a.last_limit),
    repeat_count = a.repeat_count + 1,
    updated_at = now()
  RETURNING id, (xmax = 0) AS inserted`;

export const CLEAR_SQL = `
  UPDATE alarms SET active = false, cleared_at = $4, clear_value = $5, updated_at = now()
   WHERE sn = $1 AND line = $2 AND code = $3 AND active
  RETURNING id`;

// A device whose condition chatters (raise, clear, raise…) must not add an
// episode per flip: a raise within ALARM_REOPEN_S ($7) of the clear of the
// same alarm reopens that episode and counts a repeat.
export const REOPEN_SQL = `
  UPDATE alarms a SET active = true, cleared_at = NULL, clear_value = NULL, last_at = $4,
         last_value = COALESCE($5, a.last_value), last_limit = COALESCE($6, a.last_limit),
         repeat_count = a.repeat_count + 1, updated_at = now()
   WHERE a.id = (SELECT id FROM alarms WHERE sn = $1 AND line = $2 AND code = $3
                  ORDER BY id DESC LIMIT 1)
     AND NOT a.active AND NOT a.unmatched_clear
     AND a.cleared_at >= $4::timestamptz - make_interval(secs => $7)
  RETURNING a.id`;

// Likewise clears with nothing open: repeats within DEVICE_EVENTS_COALESCE_S ($6)
// count on the last such row.
export const REPEAT_UNMATCHED_CLEAR_SQL = `
  UPDATE alarms a SET repeat_count = a.repeat_count + 1, last_at = $4,
         clear_value = COALESCE($5, a.clear_value), updated_at = now()
   WHERE a.id = (SELECT id FROM alarms WHERE sn = $1 AND line = $2 AND code = $3
                  ORDER BY id DESC LIMIT 1)
     AND a.unmatched_clear
     AND COALESCE(a.last_at, a.cleared_at) >= $4::timestamptz - make_interval(secs => $6)
  RETURNING a.id`;

export const UNMATCHED_CLEAR_SQL = `
  INSERT INTO alarms (sn, line, code, active, cleared_at, clear_value, unmatched_clear)
  VALUES ($1, $2, $3, false, $4, $5, true)
  RETURNING id`;

export const ACK_SQL = `
  UPDATE alarms SET acked_at = now(), acked_by = $2, ack_note = $3, updated_at = now()
   WHERE id = $1 AND acked_at IS NULL
  RETURNING id`;

/**
 * $1 days, $2 batch size. One batch of closed alarms cleared more than
 * ALARMS_KEEP_DAYS ago; an open alarm stays however old it is.
 */
export const PRUNE_CLOSED_ALARMS_BATCH = `
DELETE FROM alarms WHERE id IN (
  SELECT id FROM alarms WHERE NOT active AND cleared_at < now() - make_interval(days => $1) LIMIT $2)`;
