import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Transpiles the TypeScript that the compared ingesters run (src/ and
 * tools/bench/) to plain JavaScript under node_modules/.cache/bench-js, with
 * the same per-file transform as ts-node --transpile-only, so that they run on
 * plain node: ts-node would put the TypeScript compiler (~50 MiB) into each
 * ingester's RSS and its start-up into its CPU. Only files newer than their
 * output are redone. Returns the output root: `<out>/tools/bench/x.js` for
 * `tools/bench/x.ts`; packages resolve from the project's node_modules.
 */
export function transpileForNode(root: string, dirs: string[]): string {
  const out = path.join(root, 'node_modules', '.cache', 'bench-js');
  const configFile = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    module: ts.ModuleKind.CommonJS,
    // No maps: an inline one would sit in the ingester's memory with its source.
    sourceMap: false,
    inlineSourceMap: false,
    declaration: false,
    incremental: false,
    noEmit: false,
  };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const src = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(src);
        continue;
      }
      if (!entry.name.endsWith('.ts') || /\.(spec|d)\.ts$/.test(entry.name)) continue;
      const rel = path.relative(root, src);
      const dst = path.join(out, rel.replace(/\.ts$/, '.js'));
      const built = statSync(dst, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (built >= statSync(src).mtimeMs) continue;
      const r = ts.transpileModule(readFileSync(src, 'utf8'), {
        compilerOptions,
        fileName: src,
        reportDiagnostics: true,
      });
      const errors = (r.diagnostics ?? []).filter(
        (d) => d.category === ts.DiagnosticCategory.Error,
      );
      if (errors.length > 0) {
        const msg = errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        throw new Error(`${rel}: ${msg.join('; ')}`);
      }
      mkdirSync(path.dirname(dst), { recursive: true });
      writeFileSync(dst, r.outputText);
    }
  };
  for (const d of dirs) walk(path.join(root, d));
  return out;
}
