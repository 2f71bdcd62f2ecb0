/**
 * The `embed` task handler: picks the provider serving the requested
 * embedding model (or the first one) and returns
 * `{ output: { embeddings, model, provider }, usage }`. A user's own key
 * (`provider_api_key` secret) is used for that task only, as for `llm`.
 */
import { embedInput } from '../../../common/kinds/embed.js';
import type { ModelInfo } from '../../../common/wire.js';
import { parseTaskInput, TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from '../task-handler.js';
import type { EmbeddingProvider, EmbedRequest } from './embedding-providers.js';
import { USER_KEY_SECRET } from './llm-handler.js';
import { transportFailure } from './provider-errors.js';

export class EmbedHandler implements TaskHandler {
  readonly kind = 'embed';

  constructor(
    private readonly providers: readonly EmbeddingProvider[],
    /** Providers that cannot run without a key (Gemini without GEMINI_API_KEY). */
    private readonly keyless: ReadonlySet<EmbeddingProvider> = new Set(),
  ) {}

  describe(): { provider: string; models: string[] }[] {
    return this.providers.map((p) => ({ provider: p.name, models: [...p.models()] }));
  }

  models(): ModelInfo[] {
    return this.providers.flatMap((p) =>
      p.models().map((name) => ({ kind: 'embed', name, versions: [], ready: true, provider: p.name, execution_provider: '' })),
    );
  }

  async run(ctx: TaskContext): Promise<TaskOutput> {
    const input = parseTaskInput(embedInput, ctx.input);
    const model = input.model;
    const provider = model === undefined ? this.providers.find((p) => p.models().length > 0) : this.providers.find((p) => p.models().includes(model));
    const chosen = model ?? provider?.models()[0];
    if (!provider || chosen === undefined) throw new TaskFailure('MODEL_NOT_FOUND', model ? `embedding model ${model} is not served by this worker` : 'no embedding model is served by this worker');
    const userKey = (await ctx.secrets())[USER_KEY_SECRET]?.trim() || undefined;
    if (!userKey && this.keyless.has(provider)) throw new TaskFailure('PROVIDER_AUTH', `${provider.name}: no API key configured on this worker; supply your own key`);
    const request: EmbedRequest = { model: chosen, input: input.input };
    if (input.dimensions !== undefined) request.dimensions = input.dimensions;
    if (input.user !== undefined) request.user = input.user;
    if (userKey) request.apiKey = userKey;
    try {
      const r = await provider.embed(request, ctx.signal);
      const out: TaskOutput = { output: { embeddings: r.embeddings, model: r.model, provider: provider.name } };
      if (r.usage) out.usage = r.usage;
      return out;
    } catch (err) {
      throw transportFailure(provider.name, err, ctx.signal, userKey);
    }
  }
}
