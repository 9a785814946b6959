import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunRecord } from './run-record.ts';

test('a run record ends a killed run as the executor would have: running node, finished nodes, outputs, status frames', () => {
  const types: Record<string, string> = { '1': 'Load', '2': 'Save', '3': 'Work' };
  const record = new RunRecord('p', (id) => types[id] ?? '');
  const image = { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] };
  record.observe({ type: 'execution_start', data: { prompt_id: 'p', timestamp: 1 } });
  record.observe({ type: 'execution_cached', data: { nodes: ['9'], prompt_id: 'p', timestamp: 2 } });
  record.observe({ type: 'executing', data: { node: '1', display_node: '1', prompt_id: 'p' } });
  record.observe({ type: 'progress', data: { value: 1, max: 2, node: '1', prompt_id: 'p' } });
  record.observe({ type: 'executing', data: { node: '2', display_node: '2', prompt_id: 'p' } });
  record.observe({ type: 'executed', data: { node: '2', display_node: '2', output: image, prompt_id: 'p' } });
  record.observe({ type: 'executing', data: { node: '3', display_node: '3', prompt_id: 'p' } });
  const { event, outcome } = record.interrupted(42);
  const data = { prompt_id: 'p', node_id: '3', node_type: 'Work', executed: ['9', '1', '2'], timestamp: 42 };
  assert.deepEqual(event, { type: 'execution_interrupted', data });
  assert.equal(outcome.status, 'interrupted');
  assert.deepEqual(outcome.outputs, { '2': image });
  assert.deepEqual(outcome.messages.map((m) => m[0]), ['execution_start', 'execution_cached', 'execution_interrupted']);
  assert.deepEqual(outcome.messages[2][1], data);
});

test('a run killed before any node started names no node', () => {
  const record = new RunRecord('p', () => 'X');
  const { event } = record.interrupted(1);
  assert.deepEqual(event.data, { prompt_id: 'p', node_id: '', node_type: '', executed: [], timestamp: 1 });
});
