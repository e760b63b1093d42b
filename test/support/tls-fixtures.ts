import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixture {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  cleanup(): void;
}

/** The names the server certificate is valid for. */
export const TLS_SERVER_NAMES = ['broker.test', 'localhost', '127.0.0.1'];

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A throwaway CA and a server certificate it signed, made with the openssl CLI (P-256: fast). */
export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'bcb-tls-'));
  const p = (f: string) => join(dir, f);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl([
    'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=bcb-e2e-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  openssl([
    'req',
    '-new',
    ...ec,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=broker.test',
  ]);
  const san = TLS_SERVER_NAMES.map((n) => (/^[0-9.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(
    p('server.ext'),
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  openssl([
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext',
  ]); // prettier-ignore
  return {
    dir,
    caFile: p('ca.pem'),
    certFile: p('server.pem'),
    keyFile: p('server.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
