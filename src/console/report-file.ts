/**
 * Where a drill report lands in the reports directory. It never overwrites another report: ids
 * repeat across labs (each lab has its own state store), so a file of the same name holding a
 * different report gets a numbered sibling (`DR-…-2.md`); the same report written again reuses
 * its file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeReportFile(
  dir: string,
  opId: string,
  markdown: string,
  /** The file this process already wrote for the operation, if any. */
  known?: string,
): string {
  for (let n = 1; ; n++) {
    const file = known ?? join(dir, n === 1 ? `${opId}.md` : `${opId}-${n}.md`);
    if (known || !existsSync(file) || readFileSync(file, 'utf8') === markdown) {
      writeFileSync(file, markdown);
      return file;
    }
  }
}
