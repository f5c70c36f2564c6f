import { z } from 'zod';

/** An id usable in file names and log keys: letters, digits and `._:-`, starting with a letter or digit. */
export const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, { error: "expected an id of letters, digits, '.', '_', ':' or '-'" })
  .max(128);

/** A count that must be above zero. */
export const PositiveInt = z.int().positive();
/** A count that may be zero. */
export const NonNegativeInt = z.int().nonnegative();

export const IsolationLevel = z.enum(['sandbox', 'restricted', 'monitored']);
export type IsolationLevel = z.output<typeof IsolationLevel>;

export const AgentType = z.enum(['basic', 'decision-capable', 'specialized']);
export type AgentType = z.output<typeof AgentType>;
