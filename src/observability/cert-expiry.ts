import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AppConfig } from '../config/app-config';

export interface CertExpiry {
  variable: string;
  file: string;
  subject?: string;
  notAfter?: string;
  daysLeft?: number;
  error?: string;
}

/** Days until the first certificate of a PEM file expires (a bundle's first is the leaf). */
export function certExpiry(variable: string, file: string, nowMs = Date.now()): CertExpiry {
  try {
    const cert = new X509Certificate(readFileSync(file));
    const notAfter = new Date(cert.validTo);
    return {
      variable,
      file,
      subject: cert.subject.replace(/\n/g, ', '),
      notAfter: notAfter.toISOString(),
      daysLeft: Math.floor((notAfter.getTime() - nowMs) / 86_400_000),
    };
  } catch (err) {
    return { variable, file, error: (err as Error).message };
  }
}

/** Every certificate file the configuration names (the MQTT client's and the embedded broker's). */
export function configuredCerts(
  config: Pick<AppConfig, 'mqtt' | 'security'>,
  nowMs = Date.now(),
): CertExpiry[] {
  const files: [string, string | undefined][] = [
    ['MQTT_CA_FILE', config.mqtt.caFile],
    ['MQTT_CERT_FILE', config.mqtt.certFile],
    ['EMBEDDED_MQTT_TLS_CERT_FILE', config.security.embeddedTlsCertFile],
  ];
  return files.filter(([, f]) => f).map(([v, f]) => certExpiry(v, f!, nowMs));
}

/** Why a certificate needs attention (unreadable, expired, or within `warnDays` of expiry). */
export function certWarning(c: CertExpiry, warnDays: number): string | undefined {
  if (c.daysLeft === undefined) return `${c.variable}: cannot read ${c.file}: ${c.error ?? '?'}`;
  if (c.daysLeft < 0) return `${c.variable}: certificate expired ${-c.daysLeft} days ago`;
  if (c.daysLeft < warnDays) {
    return `${c.variable}: certificate expires in ${c.daysLeft} days (warning below ${warnDays})`;
  }
  return undefined;
}
