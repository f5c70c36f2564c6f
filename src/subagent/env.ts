/**
 * A SubAgent's environment, built from scratch: only the coordinator variables named in
 * `sandbox.passEnv` and the values in `sandbox.env`. Nothing else of the coordinator's
 * environment (secrets, NODE_OPTIONS, NODE_EXTRA_CA_CERTS) reaches a child.
 */
export function buildAgentEnv(
  passEnv: readonly string[],
  env: Readonly<Record<string, string>>,
  source: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of passEnv) {
    const value = source[name];
    if (value !== undefined) out[name] = value;
  }
  for (const [name, value] of Object.entries(env)) out[name] = value;
  return out;
}
