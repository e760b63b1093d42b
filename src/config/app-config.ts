import { resolve } from 'node:path';
import { validateTopicRoot } from '../protocol/topics';
import { CLIENT_GRACE_MS, DatabaseBounds } from './database-bounds';
import { Env, envSchema } from './env.schema';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Typed, validated configuration; built once from the environment. */
export interface AppConfig {
  logLevel: Env['LOG_LEVEL'];
  dataDir: string;
  database: { url?: string; poolSize: number; embeddedPort: number; bounds: DatabaseBounds };
  mqtt: {
    url?: string;
    username?: string;
    password?: string;
    clientId?: string;
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    tlsVerify: boolean;
    servername?: string;
    topicRoot: string;
    sharedGroup?: string;
    embeddedHost: string;
    embeddedPort: number;
  };
  adminToken?: string;
  autoAdopt: boolean;
  ingest: {
    maxPayloadBytes: number;
    batchSize: number;
    flushMs: number;
    bufferMaxRows: number;
    /** Memory the buffered rows may take; beyond it, like beyond bufferMaxRows, rows are dropped. */
    bufferMaxBytes: number;
    /** Buffered rows older than this (the database away that long) are dropped and counted. */
    bufferMaxAgeS: number;
    maxInflight: number;
    latestFlushMs: number;
    rejectionsKeep: number;
    rejectionsRecordPerS: number;
    /** Identical events of one device within this many seconds share one device_events row. */
    deviceEventsCoalesceS: number;
    /**
     * A raise this soon after the clear of the same alarm reopens that episode
     * (a chattering condition is one episode with repeats, not one per flip).
     */
    alarmReopenS: number;
    offlineMinS: number;
    /** Pending concentrators kept at most: beyond it, new serials are refused, not registered. */
    pendingMax: number;
    partitionDaysAhead: number;
  };
  /**
   * `push`: new concentrators get these as their desired config (sent on
   * connect). Otherwise a device keeps its own settings and `reportS` is only
   * the period assumed when judging its silence.
   */
  deviceDefaults: { push: boolean; reportS: number; heartbeatS: number; deltaPct: number };
  /** Rows older than this many days are deleted hourly, in small batches. */
  retention: {
    deviceEventsDays: number;
    rejectionsDays: number;
    auditDays: number;
    /** Closed alarms only: an open one stays whatever its age. */
    alarmsDays: number;
    /** Raw telemetry: daily partitions older than this are dropped whole; 0 = kept for ever. */
    telemetryDays: number;
  };
  commands: {
    timeoutS: number;
    switchCooldownS: number;
    bulkSwitchMax: number;
    idempotencyTtlS: number;
    /** Final commands older than this are deleted (unless they carry current desired state). */
    keepDays: number;
  };
  firmware: {
    maxBytes: number;
    /** Hosts allowed on plain http:// for external upgrade URLs (private web servers). */
    httpAllowHosts: string[];
    ratePerMin: number;
    deadlineH: number;
  };
  /** Open streams at most per token (the bootstrap admin counts as one) and per instance. */
  sse: { heartbeatS: number; clientQueue: number; maxPerToken: number; maxTotal: number };
  http: {
    host: string;
    port: number;
    publicBaseUrl?: string;
    bodyLimit: string;
    /** Express "trust proxy" (client IP from X-Forwarded-For): unset = socket address. */
    trustProxy?: boolean | number | string;
  };
  rateLimit: { perMin: number; commandsPerMin: number; authFailuresPerMin: number };
  security: {
    /** Embedded broker: let unknown serials connect (to be discovered as pending). */
    openEnrollment: boolean;
    embeddedTlsPort: number;
    embeddedTlsCertFile?: string;
    embeddedTlsKeyFile?: string;
    brokerHookSecret?: string;
    certWarnDays: number;
    /** PBKDF2-SHA512 rounds for new device password hashes (mosquitto `$7$` format). */
    passwordIterations: number;
  };
}

export class ConfigError extends Error {}

/** Fails fast, naming every bad variable, so a typo never starts a half-configured service. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  try {
    validateTopicRoot(e.MQTT_TOPIC_ROOT);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  MQTT_TOPIC_ROOT: ${(err as Error).message}`);
  }
  if (e.MQTT_SHARED_GROUP !== undefined && !/^[A-Za-z0-9_-]+$/.test(e.MQTT_SHARED_GROUP)) {
    throw new ConfigError(
      'Invalid configuration:\n  MQTT_SHARED_GROUP: use letters, digits, _ or -',
    );
  }
  if ((e.MQTT_CERT_FILE === undefined) !== (e.MQTT_KEY_FILE === undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  MQTT_CERT_FILE / MQTT_KEY_FILE: set both or neither',
    );
  }
  return {
    logLevel: e.LOG_LEVEL,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicBaseUrl: e.PUBLIC_BASE_URL,
      bodyLimit: e.HTTP_BODY_LIMIT,
      trustProxy: parseTrustProxy(e.TRUST_PROXY),
    },
    dataDir: resolve(e.DATA_DIR),
    database: {
      url: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      embeddedPort: e.EMBEDDED_PG_PORT,
      bounds: databaseBounds(e),
    },
    mqtt: {
      url: e.MQTT_URL,
      username: e.MQTT_USERNAME,
      password: e.MQTT_PASSWORD,
      clientId: e.MQTT_CLIENT_ID,
      caFile: e.MQTT_CA_FILE,
      certFile: e.MQTT_CERT_FILE,
      keyFile: e.MQTT_KEY_FILE,
      tlsVerify: e.MQTT_TLS_VERIFY,
      servername: e.MQTT_SERVERNAME,
      topicRoot: e.MQTT_TOPIC_ROOT,
      sharedGroup: e.MQTT_SHARED_GROUP,
      embeddedHost: e.EMBEDDED_MQTT_HOST,
      embeddedPort: e.EMBEDDED_MQTT_PORT,
    },
    adminToken: e.ADMIN_TOKEN,
    autoAdopt: e.AUTO_ADOPT,
    ingest: {
      maxPayloadBytes: e.MAX_PAYLOAD_BYTES,
      batchSize: e.INGEST_BATCH_SIZE,
      flushMs: e.INGEST_FLUSH_MS,
      bufferMaxRows: e.INGEST_BUFFER_MAX_ROWS,
      bufferMaxBytes: e.INGEST_BUFFER_MAX_BYTES,
      bufferMaxAgeS: e.INGEST_BUFFER_MAX_AGE_S,
      maxInflight: e.INGEST_MAX_INFLIGHT,
      latestFlushMs: e.LATEST_FLUSH_MS,
      rejectionsKeep: e.REJECTIONS_KEEP,
      rejectionsRecordPerS: e.REJECTIONS_RECORD_PER_S,
      deviceEventsCoalesceS: e.DEVICE_EVENTS_COALESCE_S,
      alarmReopenS: e.ALARM_REOPEN_S,
      offlineMinS: e.OFFLINE_MIN_S,
      pendingMax: e.PENDING_MAX,
      partitionDaysAhead: e.PARTITION_DAYS_AHEAD,
    },
    deviceDefaults: {
      push: e.PUSH_DEFAULT_CONFIG,
      reportS: e.DEFAULT_REPORT_S,
      heartbeatS: e.DEFAULT_HEARTBEAT_S,
      deltaPct: e.DEFAULT_DELTA_PCT,
    },
    retention: {
      deviceEventsDays: e.DEVICE_EVENTS_KEEP_DAYS,
      rejectionsDays: e.REJECTIONS_KEEP_DAYS,
      auditDays: e.AUDIT_KEEP_DAYS,
      alarmsDays: e.ALARMS_KEEP_DAYS,
      telemetryDays: e.TELEMETRY_KEEP_DAYS,
    },
    commands: {
      timeoutS: e.COMMAND_TIMEOUT_S,
      switchCooldownS: e.SWITCH_COOLDOWN_S,
      bulkSwitchMax: e.BULK_SWITCH_MAX,
      idempotencyTtlS: e.IDEMPOTENCY_TTL_S,
      keepDays: e.COMMANDS_KEEP_DAYS,
    },
    firmware: {
      maxBytes: e.FIRMWARE_MAX_BYTES,
      httpAllowHosts: (e.UPGRADE_HTTP_ALLOW_HOSTS ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      ratePerMin: e.UPGRADE_RATE_PER_MIN,
      deadlineH: e.UPGRADE_DEADLINE_H,
    },
    sse: {
      heartbeatS: e.SSE_HEARTBEAT_S,
      clientQueue: e.SSE_CLIENT_QUEUE,
      maxPerToken: e.SSE_MAX_PER_TOKEN,
      maxTotal: e.SSE_MAX_TOTAL,
    },
    rateLimit: {
      perMin: e.RATE_LIMIT_PER_MIN,
      commandsPerMin: e.RATE_LIMIT_COMMANDS_PER_MIN,
      authFailuresPerMin: e.RATE_LIMIT_AUTH_FAILURES_PER_MIN,
    },
    security: {
      openEnrollment: e.OPEN_ENROLLMENT,
      embeddedTlsPort: e.EMBEDDED_MQTT_TLS_PORT,
      embeddedTlsCertFile: e.EMBEDDED_MQTT_TLS_CERT_FILE,
      embeddedTlsKeyFile: e.EMBEDDED_MQTT_TLS_KEY_FILE,
      brokerHookSecret: e.BROKER_HOOK_SECRET,
      certWarnDays: e.CERT_WARN_DAYS,
      passwordIterations: e.DEVICE_PASSWORD_ITERATIONS,
    },
  };
}

function databaseBounds(e: Env): DatabaseBounds {
  const statement = e.DATABASE_STATEMENT_TIMEOUT_MS;
  const query = e.DATABASE_QUERY_TIMEOUT_MS ?? statement + CLIENT_GRACE_MS;
  // Below the server's bound the client would give up on live, merely slow
  // statements, and take the server for gone.
  if (query <= statement) {
    throw new ConfigError(
      `Invalid configuration:\n  DATABASE_QUERY_TIMEOUT_MS: must exceed DATABASE_STATEMENT_TIMEOUT_MS (${statement})`,
    );
  }
  return {
    connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: statement,
    queryTimeoutMs: query,
    bulkTimeoutMs: e.DATABASE_BULK_TIMEOUT_MS,
    migrationTimeoutMs: e.DATABASE_MIGRATION_TIMEOUT_MS,
    idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

function parseTrustProxy(v: string | undefined): boolean | number | string | undefined {
  if (v === undefined) return undefined;
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  if (/^[0-9]+$/.test(v)) return Number(v);
  return v;
}
