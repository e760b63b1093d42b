/**
 * The SQL that carries the hot path and the heavy reads, in one place.
 * Telemetry batches are written by COPY; the INSERT fallback and the latest
 * values travel as one array per column expanded by unnest(): one statement
 * and one round trip per batch, whatever its size.
 */
import { Measurement, MEASUREMENTS } from '../protocol/measurements';
import { SWITCH_UPDATE_SQL } from './switch-state';

/** Column types; the API's rounding of aggregates follows them (precision.ts). */
export const MEASUREMENT_TYPES: Record<Measurement, 'float4' | 'float8'> = {
  voltage_v: 'float4',
  current_a: 'float4',
  power_w: 'float4',
  reactive_var: 'float4',
  pf: 'float4',
  freq_hz: 'float4',
  energy_kwh: 'float8',
  leakage_ma: 'float4',
  temp_c: 'float4',
};

const mCols = MEASUREMENTS.join(', ');
const mParams = MEASUREMENTS.map((m, i) => `$${i + 6}::${MEASUREMENT_TYPES[m]}[]`).join(', ');

/** $1 sn[], $2 line[], $3 ts ms[], $4 received ms[], $5 on[], $6.. measurements. */
export const INSERT_TELEMETRY_BATCH = `
INSERT INTO telemetry (sn, line, ts, received_at, is_on, ${mCols})
SELECT sn, line, to_timestamp(ts / 1000.0), to_timestamp(rcv / 1000.0), is_on, ${mCols}
  FROM unnest($1::text[], $2::int2[], $3::float8[], $4::float8[], $5::bool[], ${mParams})
       AS u(sn, line, ts, rcv, is_on, ${mCols})
ON CONFLICT DO NOTHING`;

/**
 * The normal write of a batch: COPY, rows as TelemetryBatch.copyChunks()
 * encodes them (in this column order). It stores nothing when one row
 * duplicates a stored sample (23505): the writer then sends that batch by
 * INSERT_TELEMETRY_BATCH, which skips duplicates and counts them.
 */
export const TELEMETRY_COPY_COLUMNS = ['sn', 'line', 'ts', 'received_at', 'is_on', ...MEASUREMENTS];
export const COPY_TELEMETRY_BATCH = `COPY telemetry (${TELEMETRY_COPY_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT text)`;

const newer = `(concentrator_lines.ts IS NULL OR excluded.ts >= concentrator_lines.ts)`;

/**
 * Latest state per line. Values are guarded by time so that a late, older
 * sample (or a second instance flushing older data) never overwrites a newer
 * one. The switch state follows switchUpdate (switch-state.ts): telemetry that
 * repeats the stored state keeps its on_at and on_cause, also when this
 * instance has just started and does not know the stored state. Lines of a
 * concentrator deleted meanwhile are skipped by the join.
 */
export const UPSERT_LATEST_BATCH = `
INSERT INTO concentrator_lines (sn, line, ts, received_at, ${mCols}, is_on, on_at, on_cause)
SELECT u.sn, u.line, to_timestamp(u.ts / 1000.0), to_timestamp(u.rcv / 1000.0), ${MEASUREMENTS.map((m) => `u.${m}`).join(', ')},
       u.is_on, to_timestamp(u.on_at / 1000.0), u.on_cause
  FROM unnest($1::text[], $2::int2[], $3::float8[], $4::float8[], ${MEASUREMENTS.map((m, i) => `$${i + 5}::${MEASUREMENT_TYPES[m]}[]`).join(', ')},
              $${MEASUREMENTS.length + 5}::bool[], $${MEASUREMENTS.length + 6}::float8[], $${MEASUREMENTS.length + 7}::text[])
       AS u(sn, line, ts, rcv, ${mCols}, is_on, on_at, on_cause)
  JOIN concentrators c ON c.sn = u.sn
ON CONFLICT (sn, line) DO UPDATE SET
  ${['ts', 'received_at', ...MEASUREMENTS]
    .map(
      (c) =>
        `${c} = CASE WHEN excluded.ts IS NOT NULL AND ${newer} THEN excluded.${c} ELSE concentrator_lines.${c} END`,
    )
    .join(',\n  ')},
  ${SWITCH_UPDATE_SQL}`;

export const BUCKETS = {
  '1m': '1 minute',
  '5m': '5 minutes',
  '15m': '15 minutes',
  '1h': '1 hour',
  '1d': '1 day',
} as const;
export type Bucket = keyof typeof BUCKETS;

/** Per bucket and line: min/avg/max of the chosen measurements ($1 sn, $2 from, $3 to, $4 line or null). */
export function bucketedTelemetrySql(bucket: Bucket, fields: readonly Measurement[]): string {
  const aggs = fields
    .map((f) => `min(${f}) AS ${f}_min, avg(${f})::float8 AS ${f}_avg, max(${f}) AS ${f}_max`)
    .join(', ');
  return `
SELECT date_bin('${BUCKETS[bucket]}'::interval, ts, timestamptz '2000-01-01 00:00:00+00') AS bucket,
       line, count(*)::int AS samples${aggs ? ', ' + aggs : ''}
  FROM telemetry
 WHERE sn = $1 AND ts >= $2 AND ts < $3 AND ($4::int2 IS NULL OR line = $4)
 GROUP BY 1, 2
 ORDER BY 1, 2
 LIMIT $5`;
}

/** Raw samples ($1 sn, $2 from, $3 to, $4 line or null, $5 limit, $6 offset). */
export function rawTelemetrySql(fields: readonly Measurement[]): string {
  return `
SELECT ts, received_at, line, is_on${fields.length ? ', ' + fields.join(', ') : ''}
  FROM telemetry
 WHERE sn = $1 AND ts >= $2 AND ts < $3 AND ($4::int2 IS NULL OR line = $4)
 ORDER BY ts, line
 LIMIT $5 OFFSET $6`;
}

export const ENSURE_PARTITIONS = `SELECT ensure_telemetry_partitions($1::date, $2::date) AS created`;

/**
 * $1 first day kept (date). Daily partitions wholly before it, by name
 * (telemetry_YYYYMMDD); the default partition is never listed.
 */
export const PARTITIONS_BEFORE = `
SELECT c.relname AS name
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'telemetry'::regclass
   AND c.relname ~ '^telemetry_[0-9]{8}$'
   AND to_date(substr(c.relname, 11), 'YYYYMMDD') < $1::date
 ORDER BY c.relname`;

/** Dropping a partition is instant and returns its space at once, unlike DELETE. */
export const dropPartitionSql = (name: string): string => {
  if (!/^telemetry_[0-9]{8}$/.test(name)) throw new Error(`not a telemetry partition: ${name}`);
  return `DROP TABLE IF EXISTS "${name}"`;
};

export const ENERGY_PERIODS = ['hour', 'day', 'month'] as const;
export type EnergyPeriod = (typeof ENERGY_PERIODS)[number];

/**
 * kWh used per period and line from the cumulative counter
 * ($1 sn, $2 from, $3 to, $4 line or null, $5 period, $6 IANA time zone).
 * Each step between consecutive readings is attributed to the period of the
 * later one; the last reading before `from` (looked up at most 2 days back)
 * anchors the first step. A decrease is a counter reset (breaker swapped):
 * the new reading counts as used since a reset to zero, like Prometheus'
 * increase(). Periods start at local midnight / month start of the zone;
 * truncating the instant in the zone keeps the two 02:00 hours of an autumn
 * DST change apart (truncating local wall time would merge them).
 */
export const ENERGY_PER_PERIOD = `
WITH anchor AS (
  SELECT DISTINCT ON (line) line, ts, energy_kwh
    FROM telemetry
   WHERE sn = $1 AND ts < $2 AND ts >= $2::timestamptz - interval '2 days'
     AND energy_kwh IS NOT NULL AND ($4::int2 IS NULL OR line = $4)
   ORDER BY line, ts DESC
), readings AS (
  SELECT line, ts, energy_kwh, true AS in_range
    FROM telemetry
   WHERE sn = $1 AND ts >= $2 AND ts < $3
     AND energy_kwh IS NOT NULL AND ($4::int2 IS NULL OR line = $4)
  UNION ALL
  SELECT line, ts, energy_kwh, false FROM anchor
), steps AS (
  SELECT line, ts, in_range, energy_kwh,
         lag(energy_kwh) OVER (PARTITION BY line ORDER BY ts) AS prev
    FROM readings
)
SELECT date_trunc($5, ts, $6) AS period_start,
       line,
       sum(CASE WHEN prev IS NULL THEN 0
                WHEN energy_kwh >= prev THEN energy_kwh - prev
                ELSE energy_kwh END)::float8 AS kwh,
       (count(*) FILTER (WHERE prev IS NOT NULL AND energy_kwh < prev))::int AS resets,
       count(*)::int AS readings
  FROM steps
 WHERE in_range
 GROUP BY 1, 2
 ORDER BY 1, 2`;

/** Every stored sample of one concentrator ($1 sn): DELETE … ?purge=true. */
export const PURGE_TELEMETRY = `DELETE FROM telemetry WHERE sn = $1`;
