/**
 * The raw statements of the audit_log table. Everything else about the table
 * goes through the repository in AuditService.
 */

/** $1 days, $2 batch size. One batch of entries older than AUDIT_KEEP_DAYS. */
export const PRUNE_AUDIT_LOG_BATCH = `
DELETE FROM audit_log WHERE id IN (
  SELECT id FROM audit_log WHERE at < now() - make_interval(days => $1) LIMIT $2)`;
