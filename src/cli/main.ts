#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { validateCommand, validateHelp } from './commands/validate.js';
import { EXIT } from './output.js';

const mainHelp = `Usage: qicoord <command> [options]

Commands:
  validate FILE    check a task file and list every problem

Run 'qicoord <command> --help' for a command's options.`;

interface Command {
  readonly help: string;
  readonly options: NonNullable<Parameters<typeof parseArgs>[0]>['options'];
  run(positionals: readonly string[], values: Record<string, unknown>): Promise<number>;
}

const commands: Record<string, Command> = {
  validate: {
    help: validateHelp,
    options: { json: { type: 'boolean' } },
    async run(positionals, values) {
      const file = positionals[0];
      if (file === undefined) {
        process.stderr.write(`qicoord validate: missing FILE\n\n${validateHelp}\n`);
        return EXIT.invalid;
      }
      return validateCommand(file, values['json'] === true);
    },
  },
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${mainHelp}\n`);
    return name === undefined ? EXIT.invalid : EXIT.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`qicoord: unknown command '${name}'\n\n${mainHelp}\n`);
    return EXIT.invalid;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`qicoord ${name}: ${e instanceof Error ? e.message : String(e)}\n\n${command.help}\n`);
    return EXIT.invalid;
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  return command.run(parsed.positionals, parsed.values);
}

process.exitCode = await main(process.argv.slice(2));
