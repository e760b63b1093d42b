/**
 * Tables with a retention setting: the indexed time column their age is read
 * from, and which rows may go at all.
 */
export const RETAINED_TABLES = {
  device_events: { col: 'at', only: 'true' },
  rejections: { col: 'at', only: 'true' },
  audit_log: { col: 'at', only: 'true' },
  // An open alarm stays however old it is; a closed one ages from its clear.
  alarms: { col: 'cleared_at', only: 'NOT active' },
} as const;
export type RetainedTable = keyof typeof RETAINED_TABLES;

/**
 * One batch: at most `$2` rows older than `$1` days. Deleting by a bounded id
 * list keeps each statement (and the locks it holds) short, however many rows
 * are due after a flood or a long pause.
 */
export function pruneBatchSql(table: RetainedTable): string {
  const { col, only } = RETAINED_TABLES[table];
  const where = only === 'true' ? '' : `${only} AND `;
  return `DELETE FROM ${table} WHERE id IN (
    SELECT id FROM ${table} WHERE ${where}${col} < now() - make_interval(days => $1) LIMIT $2)`;
}

export interface PrunePlan {
  batchRows: number;
  /** Bounds one pass; what is left goes in the next pass. */
  maxBatches: number;
  /** Between batches, so other writers get the table and the disk. */
  pauseMs: number;
}

/**
 * Runs `deleteBatch` until a batch deletes fewer than `batchRows` rows (nothing
 * old is left) or `maxBatches` ran; returns the rows deleted.
 */
export async function pruneInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  plan: PrunePlan,
  pause: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms).unref()),
): Promise<number> {
  let total = 0;
  for (let i = 0; i < plan.maxBatches; i++) {
    const n = await deleteBatch(plan.batchRows);
    total += n;
    if (n < plan.batchRows) break;
    if (plan.pauseMs > 0) await pause(plan.pauseMs);
  }
  return total;
}
