import { relative } from 'node:path';
import { BootstrapToken, TokenVerifier } from './tokens/token-verifier';
import type { RunningService } from './bootstrap';

export interface BannerFacts {
  httpUrl: string;
  database: { embedded: boolean; port: number; dir: string };
  broker: { embedded: boolean; url: string; port: number; topicRoot: string };
  openEnrollment: boolean;
  token: BootstrapToken;
  envFile?: string;
  startedMs: number;
}

/** A path as the operator typed it: relative to where they started the service. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * What someone starting the service needs to know, and nothing else: where
 * to point a browser and devices, whether unknown devices may connect, and
 * which token opens the API.
 */
export function formatBanner(f: BannerFacts): string {
  const pad = (label: string) => `  ${label.padEnd(12)}`;
  const more = ' '.repeat(14);
  const lines = [
    `Breaker concentrator backend is running (started in ${(f.startedMs / 1000).toFixed(1)} s)`,
  ];
  lines.push(`${pad('HTTP API')}${f.httpUrl}   Swagger UI: ${f.httpUrl}/docs`);
  lines.push(
    pad('Database') +
      (f.database.embedded
        ? `embedded PostgreSQL on 127.0.0.1:${f.database.port}, data in ${shown(f.database.dir)}`
        : 'external (DATABASE_URL)'),
  );
  lines.push(
    pad('MQTT') +
      (f.broker.embedded
        ? `embedded broker on port ${f.broker.port}`
        : `external broker ${redact(f.broker.url)}`) +
      `; devices publish to ${f.broker.topicRoot}/<sn>/fromdev`,
  );
  if (!f.broker.embedded) {
    lines.push(`${pad('Enrollment')}decided by your broker (docs/broker-integration.md)`);
  } else if (f.openEnrollment) {
    lines.push(`${pad('Enrollment')}OPEN: any serial may connect without a password and is listed`);
    lines.push(`${more}as pending (OPEN_ENROLLMENT=true). For demos and commissioning only.`);
  } else {
    lines.push(`${pad('Enrollment')}closed: a concentrator connects once registered`);
    lines.push(`${more}(POST /api/v1/concentrators, or: npm run simulate -- --register)`);
  }
  const t = f.token;
  if (t.source === 'generated') {
    lines.push(`${pad('Admin token')}generated now, shown once:`);
    lines.push(`${more}${t.token}`);
    if (t.file) lines.push(`${more}(also saved to ${shown(t.file)}, readable by you only)`);
  } else if (t.source === 'stored') {
    lines.push(
      `${pad('Admin token')}the one generated at the first start` +
        (t.file ? `, in ${shown(t.file)}` : ' (set ADMIN_TOKEN to choose one)'),
    );
  } else {
    lines.push(`${pad('Admin token')}ADMIN_TOKEN`);
  }
  if (f.envFile) lines.push(`${pad('Settings')}${shown(f.envFile)} (the environment wins over it)`);
  lines.push(
    'Ctrl-C stops the service' +
      (f.database.embedded || f.broker.embedded ? ' and its embedded database and broker.' : '.'),
  );
  return `\n${lines.join('\n')}\n`;
}

export function startupBanner(
  s: RunningService,
  extra: { envFile?: string; startedMs: number },
): string {
  const c = s.config;
  return formatBanner({
    httpUrl: s.httpUrl,
    database: {
      embedded: s.embedded.postgres,
      port: c.database.embeddedPort,
      dir: `${c.dataDir}/postgres`,
    },
    broker: {
      embedded: s.embedded.broker,
      url: s.mqttUrl,
      port: c.mqtt.embeddedPort,
      topicRoot: c.mqtt.topicRoot,
    },
    openEnrollment: c.security.openEnrollment,
    token: s.app.get(TokenVerifier).bootstrap,
    ...extra,
  });
}
