// Undo/redo by snapshots: after each edit settles the editor records the graph's serialized state
// when it differs from the last one recorded; undo and redo step through those states. Bounded:
// the oldest states are dropped past `limit`. Edits of every kind (add, delete, move, connect,
// widget values, paste, groups, loading a workflow) are covered alike, since all change the state.

export class UndoHistory {
  private states: string[] = [];
  private index = -1;

  constructor(
    /** The current state as text (the serialized graph, without the view's pan and zoom). */
    private readonly capture: () => string,
    /** Puts a recorded state back. */
    private readonly apply: (state: string) => void,
    readonly limit = 100,
  ) {}

  /** Records the current state if it changed since the last one recorded; true when it did. */
  checkpoint(): boolean {
    const state = this.capture();
    if (this.index >= 0 && this.states[this.index] === state) return false;
    this.states.splice(this.index + 1); // a new edit drops the redo branch
    this.states.push(state);
    if (this.states.length > this.limit) this.states.splice(0, this.states.length - this.limit);
    this.index = this.states.length - 1;
    return true;
  }

  /** Back to the state before the last edit; false when there is none. */
  undo(): boolean {
    this.checkpoint(); // an edit not yet recorded is the one to undo
    if (this.index <= 0) return false;
    this.index--;
    this.put();
    return true;
  }

  redo(): boolean {
    if (this.checkpoint() || this.index >= this.states.length - 1) return false;
    this.index++;
    this.put();
    return true;
  }

  /** Applies the current state and records it as it reads back, so a later checkpoint sees no change. */
  private put(): void {
    this.apply(this.states[this.index]);
    this.states[this.index] = this.capture();
  }

  /** How many steps can be undone and redone (the editor's buttons and tests). */
  get depth(): { undo: number; redo: number } {
    return { undo: Math.max(0, this.index), redo: this.states.length - 1 - this.index };
  }
}
