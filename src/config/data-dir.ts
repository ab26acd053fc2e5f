import { mkdirSync } from 'node:fs';
import { OperatorError } from './errors.js';

/**
 * Creates DATA_DIR (and its parents) if needed; a path that is a file, or a folder that cannot
 * be created, stops start-up with a message naming DATA_DIR.
 *
 * @example
 * makeDataDir(env.DATA_DIR);
 */
export function makeDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OperatorError(
      code === 'EEXIST' || code === 'ENOTDIR'
        ? `DATA_DIR ${dir} is not a folder (a file is in its way)`
        : `DATA_DIR ${dir} cannot be created (${code})`,
    );
  }
}
