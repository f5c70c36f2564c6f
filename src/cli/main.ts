#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { doctorCommand, doctorHelp } from './commands/doctor.js';
import { initCommand, initHelp } from './commands/init.js';
import { planCommand, planHelp } from './commands/plan.js';
import { pluginsCommand, pluginsHelp } from './commands/plugins.js';
import { runCommand, runHelp } from './commands/run.js';
import { resumeCommand, resumeHelp } from './commands/resume.js';
import { runsCommand, runsHelp } from './commands/runs.js';
import { validateCommand, validateHelp } from './commands/validate.js';
import { workerCommand, workerHelp } from './commands/worker.js';
import { EXIT, type OutputMode } from './output.js';
import { packageVersion } from './version.js';

const mainHelp = `Usage: qicoord <command> [options]

Coordinates sandboxed SubAgents (real Node child processes) on a task DAG.

Commands:
  run FILE         distribute and execute a task, with live progress
  plan FILE        distribution only: allocations, DAG, channels, sync and fallback plans
  validate FILE    check a task file and list every problem
  doctor           what this host can enforce
  plugins          registered agent types and strategies, with their sources
  init [DIR]       a starter .qicoordrc, plugin and task
  resume RUN_ID    continue an interrupted run from its journal
  runs             journaled runs and their status (--prune DAYS removes old ones)
  worker           run subtasks for coordinators on other machines (BullMQ on Redis)

Options:
  -V, --version    print the version
  -h, --help       print this help ('qicoord help <command>' for a command's)

run, plan, validate, doctor and plugins also take:
  --json           one JSON document (the Result) on stdout
  -v, --verbose    plugins' stacks with their errors
  --log-format F   human (default: one line per log record on stderr) | json (pino JSON lines)

Run 'qicoord <command> --help' or 'qicoord help <command>' for a command's options.`;

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];
type Values = Record<string, string | boolean | undefined>;

interface Command {
  readonly help: string;
  readonly options: Options;
  /** How many positionals it needs (FILE). */
  readonly needsFile: boolean;
  run(positionals: readonly string[], values: Values): Promise<number>;
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
/** Every command: how errors and logs are written. */
const outputOptions: Options = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  'log-format': { type: 'string' },
};
const strategyOptions: Options = {
  ...outputOptions,
  strategy: { type: 'string' },
  'max-agents': { type: 'string' },
  failure: { type: 'string' },
  config: { type: 'string' },
};

function modeOf(v: Values): OutputMode {
  return { json: v['json'] === true, verbose: v['verbose'] === true, logFormat: v['log-format'] === 'json' ? 'json' : 'human' };
}

const commands: Record<string, Command> = {
  run: {
    help: runHelp,
    options: { ...strategyOptions, trace: { type: 'string' }, journal: { type: 'string' }, 'no-journal': { type: 'boolean' }, executor: { type: 'string' }, connection: { type: 'string' } },
    needsFile: true,
    run: (p, v) =>
      runCommand({
        file: p[0]!,
        strategy: str(v['strategy']),
        maxAgents: str(v['max-agents']),
        failure: str(v['failure']),
        config: str(v['config']),
        trace: str(v['trace']),
        journal: str(v['journal']),
        noJournal: v['no-journal'] === true,
        executor: str(v['executor']),
        connection: str(v['connection']),
        mode: modeOf(v),
      }),
  },
  plan: {
    help: planHelp,
    options: strategyOptions,
    needsFile: true,
    run: (p, v) => planCommand({ file: p[0]!, strategy: str(v['strategy']), maxAgents: str(v['max-agents']), failure: str(v['failure']), config: str(v['config']), mode: modeOf(v) }),
  },
  validate: {
    help: validateHelp,
    options: strategyOptions,
    needsFile: true,
    run: (p, v) => validateCommand({ file: p[0]!, strategy: str(v['strategy']), maxAgents: str(v['max-agents']), failure: str(v['failure']), config: str(v['config']), mode: modeOf(v) }),
  },
  doctor: { help: doctorHelp, options: { ...outputOptions, config: { type: 'string' } }, needsFile: false, run: (_p, v) => doctorCommand({ config: str(v['config']), mode: modeOf(v) }) },
  plugins: { help: pluginsHelp, options: { ...outputOptions, config: { type: 'string' } }, needsFile: false, run: (_p, v) => pluginsCommand({ config: str(v['config']), mode: modeOf(v) }) },
  init: { help: initHelp, options: {}, needsFile: false, run: (p) => initCommand(p[0] ?? '.') },
  resume: {
    help: resumeHelp,
    options: { ...outputOptions, journal: { type: 'string' }, config: { type: 'string' } },
    needsFile: true,
    run: (p, v) => resumeCommand({ runId: p[0]!, journal: str(v['journal']), config: str(v['config']), mode: modeOf(v) }),
  },
  runs: {
    help: runsHelp,
    options: { ...outputOptions, journal: { type: 'string' }, prune: { type: 'string' } },
    needsFile: false,
    run: (_p, v) => runsCommand({ journal: str(v['journal']), prune: str(v['prune']), mode: modeOf(v) }),
  },
  worker: {
    help: workerHelp,
    options: { ...outputOptions, connection: { type: 'string' }, slots: { type: 'string' }, warm: { type: 'string' }, config: { type: 'string' } },
    needsFile: false,
    run: (_p, v) => workerCommand({ connection: str(v['connection']), slots: str(v['slots']), warm: str(v['warm']), config: str(v['config']), mode: modeOf(v) }),
  },
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (name === 'help' && rest[0] !== undefined) {
    const topic = commands[rest[0]];
    if (topic === undefined) {
      process.stderr.write(`qicoord help: unknown command '${rest[0]}'\n\n${mainHelp}\n`);
      return EXIT.invalid;
    }
    process.stdout.write(`${topic.help}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp}\n`);
    return name === undefined ? EXIT.invalid : EXIT.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`qicoord: unknown command '${name}'\n\n${mainHelp}\n`);
    return EXIT.invalid;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (e) {
    process.stderr.write(`qicoord ${name}: ${e instanceof Error ? e.message : String(e)}\n\n${command.help}\n`);
    return EXIT.invalid;
  }
  const logFormat = parsed.values['log-format'];
  if (logFormat !== undefined && logFormat !== 'human' && logFormat !== 'json') {
    process.stderr.write(`qicoord ${name}: --log-format must be human or json, not '${String(logFormat)}'\n`);
    return EXIT.invalid;
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  if (command.needsFile && parsed.positionals[0] === undefined) {
    process.stderr.write(`qicoord ${name}: missing ${name === 'resume' ? 'RUN_ID' : 'FILE'}\n\n${command.help}\n`);
    return EXIT.invalid;
  }
  return command.run(parsed.positionals, parsed.values);
}

// SIGUSR1 makes Node open an inspector on 127.0.0.1:9229 (a way into the coordinator for anything
// that can signal it); a listener of our own replaces that handler. Agents cannot signal the
// coordinator anyway (PID namespaces): this is the second layer.
process.on('SIGUSR1', () => undefined);

process.exitCode = await main(process.argv.slice(2));
