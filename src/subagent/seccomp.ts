/**
 * The seccomp filter every agent at `restricted` and `sandbox` runs under, as classic BPF that
 * bubblewrap loads (`--seccomp FD`) right before it executes the agent's command. Pure: it builds
 * bytes, it loads nothing. The filter is the layer that covers what namespaces do not:
 *
 * - `socket(AF_UNIX, …)` → EPERM: a Unix socket on the file system is reachable from any network
 *   namespace, and a raw libuv pipe handle (`process.stdout._handle.constructor`) bypasses both
 *   the Node permission model and the network guard. Abstract sockets are covered too.
 * - `clone`/`unshare` with `CLONE_NEWUSER` → EPERM: no nested user namespace, so no "root inside"
 *   and no new mount or network namespaces of the agent's own (kernel attack surface).
 * - `chmod`/`fchmod`/`fchmodat`/`fchmodat2` and file creation (`open`, `openat`, `creat`, `mknod`,
 *   `mknodat`) with a set-user-ID or set-group-ID bit → EPERM: the agent cannot leave a setuid
 *   file behind for someone else to run.
 * - `ptrace`, `process_vm_readv/writev`, `keyctl`, `add_key`, `request_key`, `bpf`,
 *   `perf_event_open`, `userfaultfd`, `setns` → EPERM: debugging and kernel interfaces an agent
 *   has no use for.
 * - `clone3`, `openat2`, `io_uring_setup` → ENOSYS: their arguments live in memory a filter cannot
 *   read (or, for io_uring, operations bypass the filter), so they are refused as "not
 *   implemented" and libc/libuv fall back to the calls checked above.
 * Everything else is allowed. A process of another architecture is killed.
 */

export type SeccompArch = 'x86_64' | 'aarch64';

const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

/** Syscall numbers used by the filter; absent where the architecture has no such call. */
interface SyscallTable {
  readonly [name: string]: number | undefined;
}

const X86_64: SyscallTable = {
  socket: 41, clone: 56, unshare: 272, clone3: 435, openat2: 437, io_uring_setup: 425,
  chmod: 90, fchmod: 91, fchmodat: 268, fchmodat2: 452,
  open: 2, openat: 257, creat: 85, mknod: 133, mknodat: 259,
  ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, keyctl: 250, add_key: 248, request_key: 249,
  bpf: 321, perf_event_open: 298, userfaultfd: 323, setns: 308,
};

const AARCH64: SyscallTable = {
  socket: 198, clone: 220, unshare: 97, clone3: 435, openat2: 437, io_uring_setup: 425,
  fchmod: 52, fchmodat: 53, fchmodat2: 452,
  openat: 56, mknodat: 33,
  ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, keyctl: 219, add_key: 217, request_key: 218,
  bpf: 280, perf_event_open: 241, userfaultfd: 282, setns: 268,
};

const TABLES: Readonly<Record<SeccompArch, SyscallTable>> = { x86_64: X86_64, aarch64: AARCH64 };

const EPERM = 1;
const ENOSYS = 38;
const AF_UNIX = 1;
const CLONE_NEWUSER = 0x10000000;
const SET_ID_BITS = 0o6000;

// Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const retErrno = (errno: number): number => 0x00050000 | errno;
/** Offset of the low 32 bits of syscall argument `i` in `struct seccomp_data` (little-endian). */
const argOffset = (i: number): number => 16 + 8 * i;

interface Instruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** What to do with one syscall: refuse always, or when an argument matches. */
type Rule =
  | { readonly kind: 'refuse'; readonly errno: number }
  | { readonly kind: 'arg-equals'; readonly arg: number; readonly value: number; readonly errno: number }
  | { readonly kind: 'arg-has-bits'; readonly arg: number; readonly bits: number; readonly errno: number };

const RULES: ReadonlyArray<readonly [string, Rule]> = [
  ['socket', { kind: 'arg-equals', arg: 0, value: AF_UNIX, errno: EPERM }],
  ['clone', { kind: 'arg-has-bits', arg: 0, bits: CLONE_NEWUSER, errno: EPERM }],
  ['unshare', { kind: 'arg-has-bits', arg: 0, bits: CLONE_NEWUSER, errno: EPERM }],
  ['clone3', { kind: 'refuse', errno: ENOSYS }],
  ['openat2', { kind: 'refuse', errno: ENOSYS }],
  ['io_uring_setup', { kind: 'refuse', errno: ENOSYS }],
  ['chmod', { kind: 'arg-has-bits', arg: 1, bits: SET_ID_BITS, errno: EPERM }],
  ['fchmod', { kind: 'arg-has-bits', arg: 1, bits: SET_ID_BITS, errno: EPERM }],
  ['fchmodat', { kind: 'arg-has-bits', arg: 2, bits: SET_ID_BITS, errno: EPERM }],
  ['fchmodat2', { kind: 'arg-has-bits', arg: 2, bits: SET_ID_BITS, errno: EPERM }],
  ['open', { kind: 'arg-has-bits', arg: 2, bits: SET_ID_BITS, errno: EPERM }],
  ['openat', { kind: 'arg-has-bits', arg: 3, bits: SET_ID_BITS, errno: EPERM }],
  ['creat', { kind: 'arg-has-bits', arg: 1, bits: SET_ID_BITS, errno: EPERM }],
  ['mknod', { kind: 'arg-has-bits', arg: 1, bits: SET_ID_BITS, errno: EPERM }],
  ['mknodat', { kind: 'arg-has-bits', arg: 2, bits: SET_ID_BITS, errno: EPERM }],
  ...['ptrace', 'process_vm_readv', 'process_vm_writev', 'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'setns'].map(
    (name): readonly [string, Rule] => [name, { kind: 'refuse', errno: EPERM }],
  ),
];

const op = (code: number, k: number, jt = 0, jf = 0): Instruction => ({ code, jt, jf, k });

/** The instructions that run once the syscall number matched (the accumulator may be reloaded). */
function ruleBody(rule: Rule): Instruction[] {
  if (rule.kind === 'refuse') return [op(RET_K, retErrno(rule.errno))];
  const test = rule.kind === 'arg-equals' ? op(JEQ_K, rule.value, 1, 0) : op(JSET_K, rule.bits, 1, 0);
  return [op(LD_W_ABS, argOffset(rule.arg)), test, op(RET_K, RET_ALLOW), op(RET_K, retErrno(rule.errno))];
}

/** The filter program for `arch` as instructions (for tests and for {@link seccompFilter}). */
export function seccompProgram(arch: SeccompArch): Instruction[] {
  const table = TABLES[arch];
  const program: Instruction[] = [op(LD_W_ABS, 4), op(JEQ_K, AUDIT_ARCH[arch], 1, 0), op(RET_K, RET_KILL_PROCESS), op(LD_W_ABS, 0)];
  // x32 system calls share the x86_64 audit arch with bit 30 set in the number.
  if (arch === 'x86_64') program.push(op(JGE_K, 0x40000000, 0, 1), op(RET_K, retErrno(EPERM)));
  for (const [name, rule] of RULES) {
    const nr = table[name];
    if (nr === undefined) continue;
    const body = ruleBody(rule);
    program.push(op(JEQ_K, nr, 0, body.length), ...body);
  }
  program.push(op(RET_K, RET_ALLOW));
  return program;
}

/** The filter bytes per architecture: a constant, assembled once (every agent start needs it). */
const assembled = new Map<SeccompArch, Uint8Array>();

/** The filter as the `struct sock_filter[]` bytes bubblewrap reads from its `--seccomp` fd. */
export function seccompFilter(arch: SeccompArch): Uint8Array {
  const known = assembled.get(arch);
  if (known !== undefined) return known;
  const bytes = assemble(arch);
  assembled.set(arch, bytes);
  return bytes;
}

function assemble(arch: SeccompArch): Uint8Array {
  const program = seccompProgram(arch);
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    bytes.writeUInt16LE(ins.code, i * 8);
    bytes.writeUInt8(ins.jt, i * 8 + 2);
    bytes.writeUInt8(ins.jf, i * 8 + 3);
    bytes.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The filter's architecture for a Node `process.arch`, or null where qicoord has no table. */
export function seccompArchFor(nodeArch: string): SeccompArch | null {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  return null;
}
