/**
 * Small ONNX models built by the tests themselves (onnx-proto), and a
 * throw-away model repository in a temp dir.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

function floatInfo(name: string, dims: (number | string)[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** Y = X·W + b with X: FP32 [batch, K] (dynamic batch), W: [K, N], b: [N]. */
export function linearModel(w: number[][], b: number[]): Uint8Array {
  const k = w.length;
  const n = b.length;
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'taskwire-test',
    graph: {
      name: 'linear',
      node: [
        { opType: 'MatMul', input: ['X', 'W'], output: ['XW'], name: 'matmul' },
        { opType: 'Add', input: ['XW', 'B'], output: ['Y'], name: 'add' },
      ],
      initializer: [
        { name: 'W', dims: [k, n], dataType: onnx.TensorProto.DataType.FLOAT, floatData: w.flat() },
        { name: 'B', dims: [n], dataType: onnx.TensorProto.DataType.FLOAT, floatData: b },
      ],
      input: [floatInfo('X', ['batch', k])],
      output: [floatInfo('Y', ['batch', n])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Reference Y = X·W + b in float64. */
export function linearRef(x: number[][], w: number[][], b: number[]): number[][] {
  return x.map((row) => b.map((bj, j) => row.reduce((acc, xi, i) => acc + xi * w[i]![j]!, bj)));
}

export interface TempRepo {
  dir: string;
  add(name: string, version: string, model: Uint8Array | string, config?: object): Promise<void>;
  remove(): Promise<void>;
}

export async function tempRepo(): Promise<TempRepo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'taskwire-models-'));
  return {
    dir,
    async add(name, version, model, config) {
      await mkdir(path.join(dir, name, version), { recursive: true });
      await writeFile(path.join(dir, name, version, 'model.onnx'), model);
      if (config) await writeFile(path.join(dir, name, 'config.json'), JSON.stringify(config));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
