// `npm start` builds only when a source is newer than the build: a plain
// restart then takes the service's own start-up time, not a full compile.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import console from 'node:console';
import process from 'node:process';

const INPUTS = [
  'src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
];
const OUTPUT = join('dist', 'main.js');

function newest(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file changes its directory's time
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = statSync(OUTPUT, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const changed = Math.max(...INPUTS.map(newest));
if (changed > built) {
  console.log(built ? 'sources changed: building…' : 'first start: building…');
  execFileSync(
    process.execPath,
    [join('node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
    {
      stdio: 'inherit',
    },
  );
}
