/**
 * Batched deletion of old rows, for any table: the owner of a table writes the
 * statement that deletes one bounded batch (`DELETE … WHERE id IN (SELECT id …
 * LIMIT $n)`) in its own `*.sql.ts`, and registers the hourly job that runs it
 * through this helper. Deleting by a bounded id list keeps each statement (and
 * the locks it holds) short, however many rows are due after a flood or a
 * long pause.
 */

export interface PrunePlan {
  batchRows: number;
  /** Bounds one pass; what is left goes in the next pass. */
  maxBatches: number;
  /** Between batches, so other writers get the table and the disk. */
  pauseMs: number;
}

/** Every retention job's plan: 5000 rows a batch, at most 200 batches a pass, 50 ms apart. */
export const PRUNE_PLAN: PrunePlan = { batchRows: 5000, maxBatches: 200, pauseMs: 50 };

/**
 * When retention jobs run: hourly, the first one a minute after start-up (not
 * at once: start-up has enough to do, and a restart loop must not prune in a
 * loop). Spread into a PeriodicJobs registration.
 */
export const PRUNE_SCHEDULE = { everyMs: 3_600_000, firstAfterMs: 60_000 } as const;

export interface PruneOptions {
  /** Waits between full batches (a timer by default; tests pass their own). */
  pause?: (ms: number) => Promise<void>;
  /** Checked before every batch: true once the service is shutting down. */
  stopped?: () => boolean;
}

/**
 * Runs `deleteBatch` until a batch deletes fewer than `batchRows` rows (nothing
 * old is left), `maxBatches` ran or `stopped()` says so; returns the rows
 * deleted.
 */
export async function pruneInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  plan: PrunePlan,
  { pause = sleep, stopped = () => false }: PruneOptions = {},
): Promise<number> {
  let total = 0;
  for (let i = 0; i < plan.maxBatches && !stopped(); i++) {
    const n = await deleteBatch(plan.batchRows);
    total += n;
    if (n < plan.batchRows) break;
    if (plan.pauseMs > 0) await pause(plan.pauseMs);
  }
  return total;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
