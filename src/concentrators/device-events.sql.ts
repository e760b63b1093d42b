/**
 * The raw statements of the device_events table. Everything else about the
 * table goes through the repository in DeviceHistory.
 */

/**
 * $1 row ids, $2 repeats to add, $3 last repeat (ms). Adds the repeats counted
 * in memory to their rows: one statement for all of them.
 */
export const ADD_REPEATS = `
  UPDATE device_events e
     SET occurrences = e.occurrences + u.n,
         last_at = greatest(coalesce(e.last_at, e.at), to_timestamp(u.last_ms / 1000.0))
    FROM unnest($1::bigint[], $2::int[], $3::float8[]) AS u(id, n, last_ms)
   WHERE e.id = u.id`;

/** $1 days, $2 batch size. One batch of events older than DEVICE_EVENTS_KEEP_DAYS. */
export const PRUNE_DEVICE_EVENTS_BATCH = `
DELETE FROM device_events WHERE id IN (
  SELECT id FROM device_events WHERE at < now() - make_interval(days => $1) LIMIT $2)`;
