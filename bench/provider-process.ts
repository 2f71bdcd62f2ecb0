/**
 * The zero-delay local OpenAI-compatible provider (test/llm/fake-openai-provider.ts)
 * as a child process of stream-bench.ts, so its CPU is not the master's.
 * Prints `url <base url>`; exits when stdin closes or on SIGTERM.
 */
import { startFakeOpenAiProvider } from '../test/llm/fake-openai-provider.js';

const provider = await startFakeOpenAiProvider({ models: ['bench-model'] });
process.stdout.write(`url ${provider.url}\n`);
const stop = () => void provider.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
