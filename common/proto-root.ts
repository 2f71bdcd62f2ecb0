/**
 * Loads proto/taskwire/v1/*.proto once: a protobufjs Root for reflection
 * (the proto3 JSON codec) and a grpc-js package definition (ResultService).
 * Loader options must match scripts/gen-proto.mjs so runtime objects have
 * exactly the generated `__Output` types.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTOCOL_VERSION = 'taskwire.v1';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Finds proto/ from source (common/) or compiled (dist/common/) locations. */
export function findProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'taskwire', 'v1'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/taskwire/v1 not found next to the taskwire installation');
}

function protoFiles(protoDir: string): string[] {
  return readdirSync(join(protoDir, 'taskwire', 'v1'))
    .filter((f) => f.endsWith('.proto'))
    .sort()
    .map((f) => `taskwire/v1/${f}`);
}

let cachedRoot: protobuf.Root | undefined;
let cachedDefinition: protoLoader.PackageDefinition | undefined;

/** The reflection root, fully resolved, with google/protobuf/struct.proto. */
export function protoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const protoDir = findProtoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('google/protobuf/')) return target; // bundled with protobufjs
    return join(protoDir, target);
  };
  root.loadSync(protoFiles(protoDir), { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

export function grpcPackageDefinition(): protoLoader.PackageDefinition {
  if (cachedDefinition) return cachedDefinition;
  const protoDir = findProtoDir();
  cachedDefinition = protoLoader.loadSync(protoFiles(protoDir), {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [protoDir],
  });
  return cachedDefinition;
}
