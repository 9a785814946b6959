import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readableError } from '../../cli/error-report.ts';

test('validation failures read as one line per node problem', () => {
  const text = readableError(
    { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
    { '2': { class_type: 'ImageScale', errors: [{ message: 'Required input is missing', details: 'width' }] } },
  );
  assert.equal(text, 'error: Prompt outputs failed validation\n  node 2 (ImageScale): Required input is missing: width\n(--json prints the full report)\n');
});

test('an execution error names the node and the exception, without the traceback', () => {
  const text = readableError({ exception_message: 'model file x.safetensors not found\n', exception_type: 'ModelNotFoundError', node_id: '4', node_type: 'CheckpointLoaderSimple', traceback: ['a', 'b'] });
  assert.equal(text, 'error: node 4 (CheckpointLoaderSimple) failed: model file x.safetensors not found [ModelNotFoundError]\n(--json prints the full report)\n');
});
