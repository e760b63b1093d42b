/**
 * How a line's switch state (on, since when, why) absorbs a new observation.
 * The same rule runs in three places that must agree: the in-memory store,
 * the upsert into `concentrator_lines` (SWITCH_UPDATE_SQL, also when two
 * instances flush in any order) and the overlay of memory on the table in
 * `/latest` (after a restart memory knows less than the table).
 *
 * `onAt` is when the switch last changed state and `onCause` why. A `status`
 * message carries a cause; telemetry carries only `on` (cause null), so
 * telemetry that repeats the known state is no change at all. Rules:
 *  - nothing known yet: take the observation;
 *  - a different state: take it when it is not older;
 *  - the same state, reported by a status while the known change came from
 *    telemetry (no cause): the status names the cause of that change; keep
 *    the earlier of both times ("fill");
 *  - the same state with another cause from a newer status: the device
 *    reports a new event (for instance tripped again), take it;
 *  - anything else (a repeat, a late sample) changes nothing.
 */
export interface SwitchFields {
  isOn: boolean | null;
  onAtMs: number | null;
  onCause: string | null;
}

export type SwitchUpdate = 'keep' | 'take' | 'fill';

export function switchUpdate(
  cur: Readonly<SwitchFields>,
  on: boolean,
  atMs: number,
  cause: string | null,
): SwitchUpdate {
  if (cur.isOn === null || cur.onAtMs === null) return 'take';
  if (on !== cur.isOn) return atMs >= cur.onAtMs ? 'take' : 'keep';
  if (cause === null) return 'keep';
  if (cur.onCause === null) return 'fill';
  return cause !== cur.onCause && atMs >= cur.onAtMs ? 'take' : 'keep';
}

/** Applies an observation in place (no allocation: this runs per line per message); true when something changed. */
export function applySwitch(
  cur: SwitchFields,
  on: boolean,
  atMs: number,
  cause: string | null,
): boolean {
  switch (switchUpdate(cur, on, atMs, cause)) {
    case 'take':
      if (cur.isOn === on && cur.onAtMs === atMs && cur.onCause === cause) return false;
      cur.isOn = on;
      cur.onAtMs = atMs;
      cur.onCause = cause;
      return true;
    case 'fill':
      cur.onAtMs = Math.min(cur.onAtMs ?? atMs, atMs);
      cur.onCause = cause;
      return true;
    case 'keep':
      return false;
  }
}

/**
 * switchUpdate as SQL for `INSERT … ON CONFLICT DO UPDATE`: the stored row is
 * `concentrator_lines`, the observation `excluded` (is_on, on_at, on_cause;
 * on_at null means the batch row carries no switch state).
 */
const s = 'concentrator_lines';
const known = `excluded.is_on IS NOT NULL AND excluded.on_at IS NOT NULL`;
const take = `(${known} AND (${s}.is_on IS NULL OR ${s}.on_at IS NULL
    OR (excluded.is_on <> ${s}.is_on AND excluded.on_at >= ${s}.on_at)
    OR (excluded.is_on = ${s}.is_on AND excluded.on_cause IS NOT NULL AND ${s}.on_cause IS NOT NULL
        AND excluded.on_cause <> ${s}.on_cause AND excluded.on_at >= ${s}.on_at)))`;
const fill = `(${known} AND excluded.is_on = ${s}.is_on
    AND excluded.on_cause IS NOT NULL AND ${s}.on_cause IS NULL)`;

export const SWITCH_UPDATE_SQL = `is_on = CASE WHEN ${take} THEN excluded.is_on ELSE ${s}.is_on END,
  on_at = CASE WHEN ${take} THEN excluded.on_at
               WHEN ${fill} THEN least(${s}.on_at, excluded.on_at) ELSE ${s}.on_at END,
  on_cause = CASE WHEN ${take} OR ${fill} THEN excluded.on_cause ELSE ${s}.on_cause END`;
