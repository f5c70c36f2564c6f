/**
 * Entry of every SubAgent child process. Order matters: the channel and the process functions
 * the sandbox relies on are captured first; the network guard is installed before the plugin is
 * imported; only then does plugin code run. The handshake (`hello`, `init`, `ready`) runs
 * synchronously on fd 3; the channel moves onto a socket right after it.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { openChannel } from './channel.js';
import { installNetGuard } from './net-guard.js';
import { createAgentRuntime } from './runtime.js';

const channel = openChannel();
const exitNow = process.exit.bind(process);
/** Every exit writes the messages still queued for the end of the turn first (a fatal error's report). */
const exit = (code: number): void => {
  channel.flush();
  exitNow(code);
};

/**
 * A native dynamic import. The sandbox runtime ships as CommonJS (it starts faster than the
 * ES-module build), where a written `import()` would be compiled to `require()`; plugins may be
 * ES modules with top-level await, so the import is kept native.
 */
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/**
 * Loads the plugin synchronously with `require` where the runtime can (CommonJS, and ES modules
 * without top-level await on Node ≥ 20.19): that skips the asynchronous module loader at
 * start-up (about 10 ms of every agent start). Anything `require` refuses goes through a native
 * `import()`.
 */
async function loadPlugin(file: string): Promise<unknown> {
  try {
    return createRequire(file)(file) as unknown;
  } catch {
    // Top-level await, an older Node, a package scope the grants do not cover, or a real error:
    // the module loader decides (it reports a real error the same way).
    return importModule(pathToFileURL(file).href);
  }
}

const runtime = createAgentRuntime({ channel, exit, installNetGuard, loadPlugin });

process.on('uncaughtException', (e) => {
  runtime.reportFatal(e);
  exit(70);
});
process.on('unhandledRejection', (e) => {
  runtime.reportFatal(e);
  exit(70);
});

channel.onMessage((message) => runtime.onMessage(message));
runtime.start(process.pid, process.version, process.memoryUsage.rss() / 1048576);
// The coordinator sent `init` with the spawn: read it now (blocking) rather than after a turn of
// the event loop, and load the plugin. The socket comes after the microtasks that write `ready`
// for a plugin `require` loaded, so Node's stream machinery is built off the start-up path.
const first = channel.readFirst();
if (first === undefined) channel.attach();
else {
  runtime.onMessage(first);
  setImmediate(() => channel.attach());
}
