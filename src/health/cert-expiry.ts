import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

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
