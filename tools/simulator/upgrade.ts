import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export interface DownloadTls {
  ca?: string | Buffer;
  rejectUnauthorized?: boolean;
}

/**
 * Fetches a firmware image. Reading stops one byte past `expectedSize`, which
 * is enough for verification to report a size mismatch without letting a
 * wrong URL fill the simulator's memory.
 */
export function download(
  url: string,
  expectedSize: number,
  tls: DownloadTls,
  onProgress: (pct: number) => void,
  timeoutMs = 30_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const get = u.protocol === 'https:' ? https.get : http.get;
    const opts: https.RequestOptions =
      u.protocol === 'https:' ? { ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized } : {};
    const req = get(u, opts, (res) => {
      if (!res.statusCode || res.statusCode < 200 || res.statusCode > 299) {
        res.resume();
        reject(new Error(`http ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      let lastStep = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        const step = Math.min(5, Math.floor((bytes / expectedSize) * 5));
        if (step > lastStep && step < 5) {
          lastStep = step;
          onProgress(step * 20);
        }
        if (bytes > expectedSize) {
          res.destroy();
          resolve(Buffer.concat(chunks));
        }
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('download timeout')));
    req.on('error', reject);
  });
}

/** Returns a failure reason, or undefined when the image matches. */
export function verifyImage(image: Buffer, size: number, sha256: string): string | undefined {
  if (image.length !== size) return `size mismatch: got ${image.length}, expected ${size}`;
  const digest = createHash('sha256').update(image).digest('hex');
  if (digest !== sha256.toLowerCase()) return 'sha256 mismatch';
  return undefined;
}
