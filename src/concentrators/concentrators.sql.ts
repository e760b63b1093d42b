/**
 * The raw statements of the `concentrators` table (the registry's batched
 * writes). Everything else about the table goes through the repository in
 * ConcentratorRegistry and ConcentratorsService.
 */

/**
 * $1 serials, $2 last-seen times (ms). Last-seen times of many concentrators
 * in one statement; a time never moves back (another instance may have
 * written a newer one).
 */
export const FLUSH_LAST_SEEN = `
UPDATE concentrators c SET last_seen_at = to_timestamp(u.ms / 1000.0)
  FROM unnest($1::text[], $2::float8[]) AS u(sn, ms)
 WHERE c.sn = u.sn AND (c.last_seen_at IS NULL OR c.last_seen_at < to_timestamp(u.ms / 1000.0))`;

/**
 * $1 OFFLINE_MIN_S, $2 the default report period. Marks offline whoever has
 * been silent longer than 3 × report_s (at least $1); returns their serials.
 */
export const SWEEP_OFFLINE = `
UPDATE concentrators SET online = false, online_changed_at = now(), updated_at = now()
 WHERE online AND (last_seen_at IS NULL OR
       last_seen_at < now() - make_interval(secs => greatest(3 * coalesce(report_s, $2), $1)))
 RETURNING sn`;
