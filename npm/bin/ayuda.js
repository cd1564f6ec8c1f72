#!/usr/bin/env node
// The `ayuda` command for npm users (`npx ayuda site public --inject`): runs the program built
// for this platform, shipped in vendor/<platform>-<arch>/ with its models beside it, passing the
// arguments, the standard streams and the exit code through. It adds nothing of its own.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const vendor = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'vendor');
const platform = `${process.platform}-${process.arch}`;
const program = path.join(vendor, platform, process.platform === 'win32' ? 'ayuda.exe' : 'ayuda');

if (!existsSync(program)) {
  const shipped = existsSync(vendor) ? readdirSync(vendor).join(', ') : 'none';
  console.error(`ayuda: this package has no program for ${platform} (it has: ${shipped}); ` +
    `install the release archive for your platform instead (see the README)`);
  process.exit(1);
}
// Some tar and npm versions drop the executable bit of files that are not the package's bin.
if (process.platform !== 'win32' && !(statSync(program).mode & 0o100)) chmodSync(program, 0o755);
const run = spawnSync(program, process.argv.slice(2), { stdio: 'inherit' });
if (run.error) {
  console.error(`ayuda: could not run ${program}: ${run.error.message}`);
  process.exit(1);
}
process.exit(run.status ?? 1);
