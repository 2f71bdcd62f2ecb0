/**
 * Which onnxruntime execution provider a model gets. CPU always works. CUDA
 * needs both the CUDA provider library next to the onnxruntime-node binding
 * (the package's install script downloads it on linux/x64 when allowed) and an
 * NVIDIA GPU (/dev/nvidia0 or /proc/driver/nvidia/version). A session thread
 * that still fails to create a CUDA session falls back to CPU and says why.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ExecutionProviderChoice } from './model-config.js';

export interface CudaProbe {
  available: boolean;
  /** Why not, when it is not. */
  reason?: string;
}

let probed: CudaProbe | undefined;

function findCudaProvider(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
    return readdirSync(dir).some((f) => /onnxruntime_providers_cuda/.test(f));
  } catch {
    return false;
  }
}

/** Probes once per process. */
export function probeCuda(): CudaProbe {
  if (probed) return probed;
  const gpu = existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
  if (!findCudaProvider()) probed = { available: false, reason: 'onnxruntime-node has no CUDA provider library installed' };
  else if (!gpu) probed = { available: false, reason: 'no NVIDIA GPU found' };
  else probed = { available: true };
  return probed;
}

/** The provider to try for a model: "auto" means CUDA when available. */
export function chooseExecutionProvider(choice: ExecutionProviderChoice): { provider: 'cpu' | 'cuda'; fallbackReason?: string } {
  if (choice === 'cpu') return { provider: 'cpu' };
  const cuda = probeCuda();
  if (cuda.available) return { provider: 'cuda' };
  return choice === 'cuda' ? { provider: 'cpu', fallbackReason: cuda.reason ?? 'CUDA unavailable' } : { provider: 'cpu' };
}
