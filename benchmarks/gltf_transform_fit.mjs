// The glTF-Transform side of benchmarks/bench_peers.py: the same fit as meshpivot, done
// the way a glTF-Transform user would do it.
//
//   node benchmarks/gltf_transform_fit.mjs IN.glb OUT.glb W H D PX PY PZ   read, fit, write
//   node benchmarks/gltf_transform_fit.mjs --measure IN.glb                read, getBounds
//
// Fit (SPEC.md sections 3-5, every axis given, no aspect lock): measure the default
// scene with getBounds, scale s_i = T_i / E_i, pivot P_i = (0.5 - p_i) * s_i * lo_i +
// (0.5 + p_i) * s_i * hi_i on the scaled box, translation -P; then transformMesh on
// every mesh with the matrix "scale, then translate" and write the document.
// Prints one JSON line: the bounds read (and the matrix applied).

import { NodeIO } from '@gltf-transform/core';
import { getBounds, transformMesh } from '@gltf-transform/functions';

function usage() {
  console.error('usage: gltf_transform_fit.mjs IN OUT W H D PX PY PZ | --measure IN');
  process.exit(2);
}

const args = process.argv.slice(2);
const measureOnly = args[0] === '--measure';
if (measureOnly ? args.length !== 2 : args.length !== 8) usage();

const io = new NodeIO();
const input = measureOnly ? args[1] : args[0];
const document = await io.read(input);
const root = document.getRoot();
const scene = root.getDefaultScene() ?? root.listScenes()[0];
if (!scene) {
  console.error(`${input}: no scene`);
  process.exit(3);
}
const { min, max } = getBounds(scene);

if (measureOnly) {
  console.log(JSON.stringify({ min, max }));
} else {
  const target = args.slice(2, 5).map(Number);
  const pivot = args.slice(5, 8).map(Number);
  const scale = [0, 1, 2].map((i) => target[i] / (max[i] - min[i]));
  const translation = [0, 1, 2].map(
    (i) => -((0.5 - pivot[i]) * scale[i] * min[i] + (0.5 + pivot[i]) * scale[i] * max[i]),
  );
  // Column-major 4x4 (gl-matrix layout): diag(scale), translation in the last column.
  const matrix = [
    scale[0], 0, 0, 0,
    0, scale[1], 0, 0,
    0, 0, scale[2], 0,
    translation[0], translation[1], translation[2], 1,
  ];
  for (const mesh of root.listMeshes()) transformMesh(mesh, matrix);
  await io.write(args[1], document);
  console.log(JSON.stringify({ min, max, scale, translation }));
}
