import type { ChatChunk, ChatResponse, FinishReason, ToolCall, Usage } from '../schema';

/** True once a chunk carries something the caller can see: text, a refusal or a tool call. */
export function hasContent(chunk: ChatChunk): boolean {
  return chunk.choices.some((c) => !!c.delta.content || !!c.delta.refusal || (c.delta.tool_calls?.length ?? 0) > 0);
}

interface ChoiceParts {
  content: string;
  refusal: string;
  hasRefusal: boolean;
  toolCalls: Map<number, { id: string; name: string; arguments: string }>;
  finish: FinishReason | null;
}

/** Rebuilds the complete answer from a stream's chunks (for the cache, and for the story). */
export class StreamAssembler {
  private id = '';
  private created = 0;
  private model = '';
  private fingerprint?: string;
  private readonly choices = new Map<number, ChoiceParts>();
  usage?: Usage;

  add(chunk: ChatChunk): void {
    if (!this.id) {
      this.id = chunk.id;
      this.created = chunk.created;
      this.model = chunk.model;
    }
    if (chunk.system_fingerprint) this.fingerprint = chunk.system_fingerprint;
    if (chunk.usage) this.usage = chunk.usage;
    for (const c of chunk.choices) this.addChoice(c);
  }

  private addChoice(c: ChatChunk['choices'][number]): void {
    let parts = this.choices.get(c.index);
    if (!parts) {
      parts = { content: '', refusal: '', hasRefusal: false, toolCalls: new Map(), finish: null };
      this.choices.set(c.index, parts);
    }
    if (c.delta.content) parts.content += c.delta.content;
    if (typeof c.delta.refusal === 'string') {
      parts.refusal += c.delta.refusal;
      parts.hasRefusal = true;
    }
    for (const tc of c.delta.tool_calls ?? []) {
      const call = parts.toolCalls.get(tc.index) ?? { id: '', name: '', arguments: '' };
      if (tc.id) call.id = tc.id;
      if (tc.function?.name) call.name += tc.function.name;
      if (tc.function?.arguments) call.arguments += tc.function.arguments;
      parts.toolCalls.set(tc.index, call);
    }
    if (c.finish_reason) parts.finish = c.finish_reason;
  }

  /** Everything generated so far (text, refusals, tool calls' names and arguments), for token estimates. */
  generatedText(): string {
    const parts: string[] = [];
    for (const p of this.choices.values()) {
      parts.push(p.content, p.refusal);
      for (const call of p.toolCalls.values()) parts.push(call.name, call.arguments);
    }
    return parts.join('');
  }

  /** The answer as a non-streaming response; undefined when no choice finished. */
  response(): ChatResponse | undefined {
    const indexes = [...this.choices.keys()].sort((a, b) => a - b);
    if (indexes.length === 0 || indexes.some((i) => this.choices.get(i)?.finish == null)) return undefined;
    const response: ChatResponse = {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices: indexes.map((index) => {
        const p = this.choices.get(index) as ChoiceParts;
        const toolCalls: ToolCall[] = [...p.toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([i, t]) => ({ id: t.id || `call_${i}`, type: 'function', function: { name: t.name, arguments: t.arguments } }));
        return {
          index,
          message: {
            role: 'assistant',
            content: p.content || (toolCalls.length > 0 || p.hasRefusal ? null : ''),
            refusal: p.hasRefusal ? p.refusal : null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: p.finish as FinishReason,
          logprobs: null,
        };
      }),
    };
    if (this.fingerprint) response.system_fingerprint = this.fingerprint;
    if (this.usage) response.usage = this.usage;
    return response;
  }
}

/** Replays a complete answer as the chunks a stream would have carried (cache hits). */
export function responseToChunks(response: ChatResponse): ChatChunk[] {
  const base = { id: response.id, object: 'chat.completion.chunk' as const, created: response.created, model: response.model };
  const fp = response.system_fingerprint ? { system_fingerprint: response.system_fingerprint } : {};
  const chunks: ChatChunk[] = [];
  for (const choice of response.choices) {
    const m = choice.message;
    const index = choice.index;
    chunks.push({ ...base, ...fp, choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] });
    if (m.content) chunks.push({ ...base, ...fp, choices: [{ index, delta: { content: m.content }, finish_reason: null, logprobs: null }] });
    if (m.refusal) chunks.push({ ...base, ...fp, choices: [{ index, delta: { refusal: m.refusal }, finish_reason: null, logprobs: null }] });
    if (m.tool_calls?.length) {
      const deltas = m.tool_calls.map((tc, i) => ({ index: i, id: tc.id, type: 'function' as const, function: { ...tc.function } }));
      chunks.push({ ...base, ...fp, choices: [{ index, delta: { tool_calls: deltas }, finish_reason: null, logprobs: null }] });
    }
    chunks.push({ ...base, ...fp, choices: [{ index, delta: {}, finish_reason: choice.finish_reason, logprobs: null }] });
  }
  if (response.usage) chunks.push({ ...base, ...fp, choices: [], usage: response.usage });
  return chunks;
}
