// Symbolic dims and the protobuf writer's varints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulDims, divDim, product, convOutDim } from './dims.ts';
import { ProtoWriter } from './protobuf.ts';

test('symbolic dims multiply, divide and print canonically', () => {
  assert.equal(mulDims('W', 'H'), 'H*W');
  assert.equal(mulDims('H/8', 'W/8'), 'H*W/64');
  assert.equal(mulDims(2, 'H/2'), 'H');
  assert.equal(divDim('H', 8), 'H/8');
  assert.equal(product(['B', 4, 'H', 'W']), '4*B*H*W');
  assert.equal(product([2, 3]), 6);
  assert.throws(() => divDim(6, 4), /not divisible/);
});

test('conv output sizes: numeric exact, symbolic for same-style padding', () => {
  assert.equal(convOutDim(7, 3, 2, 2), 4);
  assert.equal(convOutDim(8, 3, 2, 1), 4);
  assert.equal(convOutDim('H', 3, 1, 2), 'H');
  assert.equal(convOutDim('H', 3, 2, 2), 'H/2');
  assert.equal(convOutDim('H', 3, 2, 1), 'H/2');
  assert.throws(() => convOutDim('H', 3, 1, 0), /not supported/);
});

test('protobuf varints, including negative int64 as 10 bytes', () => {
  assert.deepEqual(Array.from(new ProtoWriter().int(1, 300).finish()), [0x08, 0xac, 0x02]);
  const neg = new ProtoWriter().int(1, -1).finish();
  assert.deepEqual(Array.from(neg), [0x08, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]);
  assert.deepEqual(Array.from(new ProtoWriter().string(2, 'ab').finish()), [0x12, 2, 97, 98]);
});
