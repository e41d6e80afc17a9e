/**
 * The trainer's own weights, saved beside the ONNX exports so that a later fine-tune starts exactly where training
 * stopped. Reading initializers back out of ONNX would have to undo the exporter's rewrites (the input layer split in
 * two matmuls, the one-user projection, bag tables with row 0 zeroed); the parameters as the trainer holds them need
 * no such inverse. One packed-arrays container per model (core/bundle/packed.ts): an array per parameter under its
 * name, and the shapes and the architecture in `meta`.
 */
import { packArrays, requireArray, unpackArrays, type JsonValue } from "../../core/bundle/packed";
import type { Module } from "../nn/layers";
import type { MtmlModel } from "../mtml/model";
import type { TwoTowerModel } from "../two-tower/model";

export const WEIGHTS_FORMAT = "explore-edge-ranker/trainer-weights@1";

interface WeightsMeta {
  readonly format: typeof WEIGHTS_FORMAT;
  readonly model: string;
  readonly architecture: JsonValue;
  readonly shapes: Record<string, number[]>;
}

/** Packs every parameter of `model` by name; throws if two parameters share a name (one could not be restored). */
export function encodeModelWeights(modelName: string, model: Module, architecture: JsonValue): Uint8Array {
  const arrays: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const parameter of model.parameters()) {
    if (Object.hasOwn(arrays, parameter.name)) throw new Error(`${modelName}: two parameters are named ${parameter.name}`);
    arrays[parameter.name] = parameter.data;
    shapes[parameter.name] = [...parameter.shape];
  }
  const meta: WeightsMeta = { format: WEIGHTS_FORMAT, model: modelName, architecture, shapes };
  return packArrays(arrays, meta as unknown as JsonValue);
}

/** `encodeModelWeights` of a trainer model with its own architecture (the hidden widths as a plain array, as JSON holds them). */
export function encodeTrainerModel(modelName: string, model: MtmlModel | TwoTowerModel): Uint8Array {
  return encodeModelWeights(modelName, model, { ...model.architecture, hidden: [...model.architecture.hidden] });
}

/** The architecture a weights file was saved with (to build the model it fits). */
export function weightsArchitecture(bytes: Uint8Array, source: string): JsonValue {
  return readMeta(bytes, source).architecture;
}

/**
 * Overwrites every parameter of `model` with the saved values. Every parameter must be present with the same shape,
 * and no saved array may be left over: a warm start from a model of another shape is an error, never a partial copy.
 */
export function loadModelWeights(model: Module, bytes: Uint8Array, source: string): void {
  const unpacked = unpackArrays(bytes, source);
  const meta = readMeta(bytes, source);
  const expected = new Set(Object.keys(meta.shapes));
  for (const parameter of model.parameters()) {
    const shape = meta.shapes[parameter.name];
    if (!shape) throw new Error(`${source}: no saved weights for parameter ${parameter.name}`);
    if (shape.join("x") !== parameter.shape.join("x")) throw new Error(`${source}: ${parameter.name} was saved as [${shape.join(", ")}], the model has [${parameter.shape.join(", ")}]`);
    parameter.data.set(requireArray(unpacked, parameter.name, "float32", source));
    expected.delete(parameter.name);
  }
  if (expected.size > 0) throw new Error(`${source}: saved parameters the model does not have: ${[...expected].slice(0, 5).join(", ")}`);
}

function readMeta(bytes: Uint8Array, source: string): WeightsMeta {
  const meta = unpackArrays(bytes, source).meta as Partial<WeightsMeta> | null;
  if (!meta || meta.format !== WEIGHTS_FORMAT || typeof meta.shapes !== "object" || meta.shapes === null) throw new Error(`${source}: not a trainer weights file (${WEIGHTS_FORMAT})`);
  return meta as WeightsMeta;
}
