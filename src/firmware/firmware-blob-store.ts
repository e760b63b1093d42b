import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';

/** What the upload storage engine hands the controller (as `req.file`). */
export interface IncomingImage {
  fieldname: string;
  originalname: string;
  /** Temporary file, outside the content-addressed namespace until committed. */
  path: string;
  size: number;
  sha256: string;
}

type Callback = (error: Error | null, info?: Partial<IncomingImage>) => void;

/**
 * Content-addressed image store: `<dir>/<sha256>`. Uploads stream into
 * `<dir>/.incoming/` while being hashed, so nothing is ever held in memory and
 * a half-written file never appears under a digest name.
 */
export class FirmwareBlobStore {
  readonly incomingDir: string;

  constructor(readonly dir: string) {
    this.incomingDir = join(dir, '.incoming');
  }

  async init(): Promise<void> {
    await mkdir(this.incomingDir, { recursive: true, mode: 0o700 });
    // Leftovers of uploads cut short by a crash.
    const hourAgo = Date.now() - 3600_000;
    for (const name of await readdir(this.incomingDir)) {
      const p = join(this.incomingDir, name);
      const s = await stat(p).catch(() => undefined);
      if (s && s.mtimeMs < hourAgo) await rm(p, { force: true });
    }
  }

  pathOf(sha256: string): string {
    return join(this.dir, sha256);
  }

  async exists(sha256: string, size: number): Promise<boolean> {
    const s = await stat(this.pathOf(sha256)).catch(() => undefined);
    return s?.isFile() === true && s.size === size;
  }

  /** Moves an upload to its digest name; a blob already stored under it is reused as it is. */
  async commit(image: IncomingImage): Promise<void> {
    if (await this.exists(image.sha256, image.size)) {
      await rm(image.path, { force: true });
      return;
    }
    await rename(image.path, this.pathOf(image.sha256));
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  /** A multer storage engine (Nest's FileInterceptor) that writes and hashes in one pass. */
  storageEngine() {
    return {
      _handleFile: (
        _req: Request,
        file: { fieldname: string; originalname: string; stream: Readable },
        cb: Callback,
      ) => {
        const path = join(this.incomingDir, randomUUID());
        const hash = createHash('sha256');
        let size = 0;
        const tap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        });
        pipeline(file.stream, tap, createWriteStream(path, { flags: 'wx', mode: 0o600 })).then(
          () => cb(null, { path, size, sha256: hash.digest('hex') }),
          (err: Error) => void rm(path, { force: true }).finally(() => cb(err)),
        );
      },
      _removeFile: (_req: Request, file: { path?: string }, cb: (error: Error | null) => void) => {
        if (!file.path) return cb(null);
        rm(file.path, { force: true }).then(
          () => cb(null),
          (err: Error) => cb(err),
        );
      },
    };
  }
}
