/**
 * The raw statements of the rejections table. Everything else about the table
 * goes through the repository in RejectionsService.
 */

/** $1 rows to keep. Trims the table to (about) the newest REJECTIONS_KEEP rows. */
export const TRIM_REJECTIONS = `
DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - $1`;

/** $1 days, $2 batch size. One batch of rejections older than REJECTIONS_KEEP_DAYS. */
export const PRUNE_REJECTIONS_BATCH = `
DELETE FROM rejections WHERE id IN (
  SELECT id FROM rejections WHERE at < now() - make_interval(days => $1) LIMIT $2)`;
