// Files written whole or not at all: a temporary file beside the target, then a rename.
import fs from 'node:fs';

export function writeFileAtomic(file: string, body: string): void {
  fs.writeFileSync(file + '.tmp', body);
  fs.renameSync(file + '.tmp', file);
}
