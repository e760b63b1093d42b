import { readFileSync } from 'node:fs';

/**
 * The shell blocks of README.md marked `<!-- first-look: NAME -->`, so a test
 * runs exactly what a newcomer copies. Lines joined by a trailing backslash
 * stay one command.
 */
export function firstLookBlocks(readmePath: string): Map<string, string[]> {
  const text = readFileSync(readmePath, 'utf8');
  const blocks = new Map<string, string[]>();
  const re = /<!-- first-look: ([a-z-]+) -->\s*```sh\n([\s\S]*?)```/g;
  for (const m of text.matchAll(re)) {
    blocks.set(m[1], joinContinuations(m[2]));
  }
  return blocks;
}

function joinContinuations(block: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const raw of block.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trimEnd();
    if (!current && !line.trim()) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1);
      continue;
    }
    commands.push((current + line).trim());
    current = '';
  }
  return commands.filter(Boolean);
}
