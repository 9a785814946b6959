// Parity sections for the tokenizer (tokenizer.json) and the CLIP text encoder (text_encoder.safetensors).
import type { ParityContext, FixtureConfig } from './context.ts';
import { idsTensor } from './context.ts';

interface TokenizerFixture {
  prompts: Array<{ text: string; input_ids: number[] }>;
}

export function tokenizerSection(ctx: ParityContext): void {
  if (!ctx.fixture.hasFile('tokenizer.json')) return;
  const { prompts } = ctx.fixture.json<TokenizerFixture>('tokenizer.json');
  const actual = idsTensor(prompts.map((p) => ctx.tokenizer.tokenizeSd15(p.text)));
  ctx.log.int('tokenizer', 'input_ids', actual, idsTensor(prompts.map((p) => p.input_ids)));
}

export async function textEncoderSection(ctx: ParityContext): Promise<void> {
  const stem = 'text_encoder';
  if (!ctx.fixture.has(stem)) return;
  const { inputs } = ctx.fixture.json<FixtureConfig>('config.json');
  const layers = ctx.checkpoint.config.clip.layers;
  const ids = idsTensor(inputs.prompts.map((p) => ctx.tokenizer.tokenizeSd15(p)));
  ctx.log.int(stem, 'input_ids', ids, ctx.fixture.ints(stem, 'input_ids'));
  const options = { pooled: true, hiddenStates: true, ...(layers >= 2 ? { stopAtLayer: -2 } : {}) };
  const session = await ctx.runtime.networkSession(ctx.checkpoint, { kind: 'clip-text', options });
  const out = await session.run({ input_ids: { dims: ids.dims, data: ids.ints, type: 'int64' } });
  const ref = (key: string) => (ctx.fixture.keys(stem).includes(key) ? ctx.fixture.tensor(stem, key) : undefined);
  ctx.log.float(stem, 'last_hidden_state', out.last_hidden_state, ref('last_hidden_state'));
  ctx.log.float(stem, 'pooled_output', out.pooled_output, ref('pooled_output'));
  ctx.log.float(stem, 'embeddings', out['hidden_states.0'], ref('embeddings'));
  for (let i = 0; i <= layers; i++) ctx.log.float(stem, `hidden_states.${i}`, out[`hidden_states.${i}`], ref(`hidden_states.${i}`));
  if (layers >= 2) {
    ctx.log.float(stem, 'penultimate_hidden_state', out[`hidden_states.${layers - 1}`], ref('penultimate_hidden_state'));
    ctx.log.float(stem, 'penultimate_hidden_state_final_ln', out.hidden_state, ref('penultimate_hidden_state_final_ln'));
  }
  const empty = idsTensor(inputs.prompts.map(() => ctx.tokenizer.tokenizeSd15(inputs.negative_prompt)));
  ctx.log.int(stem, 'empty_input_ids', empty, ctx.fixture.ints(stem, 'empty_input_ids'));
  const emptyOut = await session.run({ input_ids: { dims: empty.dims, data: empty.ints, type: 'int64' } }, ['last_hidden_state']);
  ctx.log.float(stem, 'empty_last_hidden_state', emptyOut.last_hidden_state, ref('empty_last_hidden_state'));
}
