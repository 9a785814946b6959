// The editor's undo history (ui/src/undo-history.ts) on plain text states: steps only on change,
// redo dropped by a new edit, bounded, and a state that reads back differently is not a new step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UndoHistory } from '../ui/src/undo-history.ts';

function harness(limit = 100) {
  const doc = { text: 'a' };
  const history = new UndoHistory(() => doc.text, (state) => (doc.text = state), limit);
  history.checkpoint();
  return { doc, history };
}

test('undo and redo step through the recorded states; unchanged checkpoints record nothing', () => {
  const { doc, history } = harness();
  doc.text = 'ab';
  assert.equal(history.checkpoint(), true);
  assert.equal(history.checkpoint(), false);
  doc.text = 'abc'; // not yet recorded: undo records it first, then steps back
  assert.equal(history.undo(), true);
  assert.equal(doc.text, 'ab');
  assert.equal(history.undo(), true);
  assert.equal(doc.text, 'a');
  assert.equal(history.undo(), false);
  assert.equal(history.redo(), true);
  assert.equal(history.redo(), true);
  assert.equal(doc.text, 'abc');
  assert.equal(history.redo(), false);
  assert.deepEqual(history.depth, { undo: 2, redo: 0 });
});

test('a new edit after undo drops the redo branch', () => {
  const { doc, history } = harness();
  doc.text = 'b';
  history.checkpoint();
  history.undo();
  doc.text = 'c';
  history.checkpoint();
  assert.equal(history.redo(), false);
  assert.equal(doc.text, 'c');
  history.undo();
  assert.equal(doc.text, 'a');
});

test('the history is bounded: the oldest states go', () => {
  const { doc, history } = harness(3);
  for (const text of ['b', 'c', 'd', 'e']) {
    doc.text = text;
    history.checkpoint();
  }
  assert.deepEqual(history.depth, { undo: 2, redo: 0 });
  history.undo();
  history.undo();
  assert.equal(doc.text, 'c');
  assert.equal(history.undo(), false);
});

test('a restored state that serializes differently is recorded as it reads back, so redo survives', () => {
  const doc = { text: 'a' };
  // Applying normalizes (as litegraph's configure may): "x " reads back as "x".
  const history = new UndoHistory(() => doc.text, (state) => (doc.text = state.trim()), 10);
  doc.text = 'x ';
  history.checkpoint();
  doc.text = 'y';
  history.checkpoint();
  history.undo();
  assert.equal(doc.text, 'x');
  assert.equal(history.checkpoint(), false, 'no spurious step after undo');
  assert.equal(history.redo(), true);
  assert.equal(doc.text, 'y');
});
