// Editor-only nodes that ComfyUI workflows contain and the server never runs (comfyui-api.md
// §5.1): Note / MarkdownNote (text) and Reroute (a pass-through dot). PrimitiveNode is kept as
// saved and converted, but not editable here.
import { LGraphNode, LiteGraph } from '@comfyorg/litegraph';
import { addTextAreaWidget } from './text-area-widget.ts';

function registerNote(type: string): void {
  class NoteNode extends LGraphNode {
    static override title = type === 'Note' ? 'Note' : 'Markdown Note';
    constructor(title: string) {
      super(title);
      addTextAreaWidget(this, 'text', '');
      this.serialize_widgets = true;
      this.size = [300, 100];
      this.color = '#432';
      this.bgcolor = '#653';
    }
  }
  LiteGraph.registerNodeType(type, NoteNode as unknown as typeof LGraphNode);
  (NoteNode as unknown as { category: string }).category = 'utils';
}

class RerouteNode extends LGraphNode {
  static override title = 'Reroute';
  constructor(title: string) {
    super(title);
    this.addInput('', '*');
    this.addOutput('', '*');
    this.size = [75, 26];
  }
}

export function registerVirtualNodes(): void {
  registerNote('Note');
  registerNote('MarkdownNote');
  LiteGraph.registerNodeType('Reroute', RerouteNode as unknown as typeof LGraphNode);
  (RerouteNode as unknown as { category: string }).category = 'utils';
}
