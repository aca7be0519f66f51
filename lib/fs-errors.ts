// Node's file-system errors as one line a user can act on: what was attempted, on which path,
// and why in words ("cannot create the folder '/ro/run': permission denied").
import fs from 'node:fs';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it exists already',
  ENOTEMPTY: 'the folder is not empty',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
};

const ACTIONS: Record<string, string> = {
  mkdir: 'cannot create the folder',
  open: 'cannot open',
  read: 'cannot read',
  write: 'cannot write',
  rename: 'cannot write',
  unlink: 'cannot remove',
  rmdir: 'cannot remove',
  rm: 'cannot remove',
  scandir: 'cannot list',
  stat: 'cannot read',
};

/** The error's one line: fs errors rewritten, `where` naming the place when the error has no path. */
export function errorLine(e: unknown, where?: string): string {
  const err = e as NodeJS.ErrnoException;
  const reason = err?.code ? REASONS[err.code] : undefined;
  if (!reason) return String(err?.message ?? e).split('\n')[0]!;
  const action = ACTIONS[err.syscall ?? ''] ?? 'cannot use';
  const target = err.path ?? where;
  return target ? `${action} '${target}': ${reason}` : `${action} a file: ${reason}`;
}

/** A JSON file's value; one line naming the file where it cannot be read or parsed. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(errorLine(e));
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`'${file}' cannot be read as JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}
