#!/usr/bin/env node
// Generates TypeScript types for proto/taskwire/v1/*.proto into common/gen/.
// The options here must match PROTO_LOADER_OPTIONS in common/proto-root.ts.
// Usage: node scripts/gen-proto.mjs [outDir]
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.argv[2] ?? join(root, 'common', 'gen');
const protoDir = join(root, 'proto');
const files = readdirSync(join(protoDir, 'taskwire', 'v1'))
  .filter((f) => f.endsWith('.proto'))
  .sort()
  .map((f) => `taskwire/v1/${f}`);
rmSync(outDir, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js'),
    '--keepCase', '--longs=Number', '--enums=String', '--defaults', '--oneofs',
    '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js', '--includeComments',
    '-I', protoDir, '-O', outDir, ...files,
  ],
  { stdio: 'inherit', cwd: root },
);

// Make the output machine-independent: strip the absolute proto path.
const strip = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) strip(p);
    else writeFileSync(p, readFileSync(p, 'utf8').split(`${protoDir}/`).join('proto/'));
  }
};
strip(outDir);
