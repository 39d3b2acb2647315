// Each test's scratch folder: ./NAME.work under the working directory (ctest's build folder),
// emptied at the start so every run renders its fixtures afresh.
import fs from 'node:fs';
import path from 'node:path';

export function workDir(name) {
  const dir = path.resolve(process.cwd(), `${name}.work`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
