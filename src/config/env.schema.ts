import { z } from 'zod';

// Env strings arrive as text; these helpers keep the schema readable and make
// "1"/"true"/"yes" all mean true, as operators expect from shell configs.
const bool = (def: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), {
      message: 'expected true/false',
    })
    .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))
    .optional()
    .transform((v) => v ?? def);

const int = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).optional().default(def);

const port = (def: number) => int(def, 0, 65535);

const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const url = (protocols: string[]) =>
  optionalString.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${protocols.join(' or ')}` },
  );

export const envSchema = z.object({
  NODE_ENV: optionalString,
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).optional().default('log'),
  HOST: z.string().trim().optional().default('0.0.0.0'),
  PORT: port(3000),
  PUBLIC_BASE_URL: url(['http:', 'https:']),

  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_POOL_SIZE: int(10, 2, 200),
  // Bounds of every database wait (docs/security.md, "Database timeouts").
  DATABASE_CONNECT_TIMEOUT_MS: int(2000, 100, 600_000),
  DATABASE_STATEMENT_TIMEOUT_MS: int(3000, 100, 3_600_000),
  // Unset: the statement timeout + 1 s. Set: must exceed the statement timeout.
  DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(200).max(3_601_000).optional(),
  DATABASE_BULK_TIMEOUT_MS: int(30_000, 1000, 3_600_000),
  DATABASE_MIGRATION_TIMEOUT_MS: int(600_000, 1000, 86_400_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(30_000, 1000, 3_600_000),
  DATA_DIR: z.string().trim().optional().default('./data'),
  EMBEDDED_PG_PORT: port(54329),

  MQTT_URL: url(['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:']),
  MQTT_USERNAME: optionalString,
  MQTT_PASSWORD: optionalString,
  MQTT_CLIENT_ID: optionalString,
  MQTT_CA_FILE: optionalString,
  MQTT_CERT_FILE: optionalString,
  MQTT_KEY_FILE: optionalString,
  MQTT_TLS_VERIFY: bool(true),
  MQTT_SERVERNAME: optionalString,
  MQTT_TOPIC_ROOT: z.string().trim().optional().default('smart/devs'),
  MQTT_SHARED_GROUP: optionalString,
  EMBEDDED_MQTT_HOST: z.string().trim().optional().default('0.0.0.0'),
  EMBEDDED_MQTT_PORT: port(1883),

  ADMIN_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 24, {
    message: 'must be at least 24 characters',
  }),
  AUTO_ADOPT: bool(false),

  MAX_PAYLOAD_BYTES: int(65536, 256, 1048576),
  INGEST_BATCH_SIZE: int(5000, 1, 100000),
  INGEST_FLUSH_MS: int(200, 5, 60000),
  INGEST_BUFFER_MAX_ROWS: int(200000, 100, 10000000),
  // Memory of the buffered rows (ROW_BYTES each, see telemetry-batch.ts), 1 MiB to 4 GiB.
  INGEST_BUFFER_MAX_BYTES: int(32 * 1024 * 1024, 1024 * 1024, 4 * 1024 * 1024 * 1024),
  // Rows waiting longer (a database away that long) are dropped and counted; well above
  // the outages the buffer is for (a 30 s one must lose nothing).
  INGEST_BUFFER_MAX_AGE_S: int(900, 60, 86400),
  INGEST_MAX_INFLIGHT: int(2, 1, 16),
  LATEST_FLUSH_MS: int(1000, 50, 60000),
  REJECTIONS_KEEP: int(10000, 100, 10000000),
  REJECTIONS_RECORD_PER_S: int(50, 1, 10000),
  REJECTIONS_KEEP_DAYS: int(30, 1, 36500),
  DEVICE_EVENTS_COALESCE_S: int(300, 1, 86400),
  DEVICE_EVENTS_KEEP_DAYS: int(90, 1, 36500),
  AUDIT_KEEP_DAYS: int(365, 30, 36500),
  ALARMS_KEEP_DAYS: int(365, 7, 36500),
  ALARM_REOPEN_S: int(60, 0, 86400),
  OFFLINE_MIN_S: int(90, 5, 86400),
  PENDING_MAX: int(1000, 1, 1000000),
  PARTITION_DAYS_AHEAD: int(7, 1, 90),
  // 0 keeps raw telemetry for ever; otherwise at least the 8 days a device clock may lag.
  TELEMETRY_KEEP_DAYS: int(0, 0, 36500).refine((v) => v === 0 || v >= 8, {
    message: 'must be 0 (keep for ever) or at least 8 days',
  }),

  COMMAND_TIMEOUT_S: int(10, 1, 600),
  SWITCH_COOLDOWN_S: int(2, 0, 3600),
  BULK_SWITCH_MAX: int(500, 1, 10000),
  IDEMPOTENCY_TTL_S: int(86400, 60, 30 * 86400),
  COMMANDS_KEEP_DAYS: int(180, 7, 36500),

  FIRMWARE_MAX_BYTES: int(64 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
  UPGRADE_HTTP_ALLOW_HOSTS: optionalString,
  UPGRADE_RATE_PER_MIN: int(10, 1, 10000),
  UPGRADE_DEADLINE_H: int(72, 1, 24 * 90),

  SSE_HEARTBEAT_S: int(15, 1, 300),
  SSE_CLIENT_QUEUE: int(1000, 10, 100000),
  SSE_MAX_PER_TOKEN: int(10, 1, 10000),
  SSE_MAX_TOTAL: int(500, 1, 100000),

  HTTP_BODY_LIMIT: z.string().trim().optional().default('256kb'),
  // Express "trust proxy": true, a hop count, or addresses/CIDRs (loopback, 10.0.0.0/8, …).
  TRUST_PROXY: optionalString,
  RATE_LIMIT_PER_MIN: int(600, 1, 1000000),
  RATE_LIMIT_COMMANDS_PER_MIN: int(60, 1, 1000000),
  RATE_LIMIT_AUTH_FAILURES_PER_MIN: int(20, 1, 1000000),

  OPEN_ENROLLMENT: bool(false),
  EMBEDDED_MQTT_TLS_PORT: port(8883),
  EMBEDDED_MQTT_TLS_CERT_FILE: optionalString,
  EMBEDDED_MQTT_TLS_KEY_FILE: optionalString,
  BROKER_HOOK_SECRET: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  CERT_WARN_DAYS: int(30, 0, 3650),
  DEVICE_PASSWORD_ITERATIONS: int(10000, 101, 1000000),

  PUSH_DEFAULT_CONFIG: bool(false),
  DEFAULT_REPORT_S: int(60, 5, 3600),
  DEFAULT_HEARTBEAT_S: int(30, 10, 600),
  DEFAULT_DELTA_PCT: int(5, 0, 100),
});

export type Env = z.infer<typeof envSchema>;
