/**
 * The coordinator's channel alone, in process (no child, no scheduler noise): CPU per message to
 * read N `result` frames of a trivial subtask (framing, JSON, depth, validation) and to send N
 * `execute` messages into a sink that only counts. `node bench/profile/channel-cpu.mjs [N] [rounds]`.
 */
import { Duplex } from 'node:stream';
import { ParentChannel } from '../../dist/src/subagent/channel.js';

const [count = '100000', rounds = '5'] = process.argv.slice(2);
const n = Number(count);
let written = 0;
const socket = new Duplex({
  read() {},
  write(chunk, _encoding, callback) {
    written += chunk.length;
    callback();
  },
});
let received = 0;
const channel = new ParentChannel(socket, 'bench', { maxMessageBytes: 4 * 1024 * 1024, maxMessagesPerSecond: 1e9 }, { onMessage: () => received++, onViolation: (e) => { throw new Error(e.message); } });
const frame = (i) => Buffer.from(`${JSON.stringify({ __qicoord: 1, type: 'result', subtaskId: `s${i}`, outputs: { [`o${i}`]: i } })}\n`);
const frames = Array.from({ length: n }, (_, i) => frame(i));
const execute = (i) => ({ type: 'execute', subtask: { id: `s${i}`, parentTaskId: 'bench', description: '', expectedOutputs: [{ name: `o${i}`, type: 'any', description: '' }], attempt: 1 }, inputs: { value: i } });
const cpu = (fn) => {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
};
for (let r = 0; r < Number(rounds); r++) {
  const read = cpu(() => {
    for (const f of frames) socket.push(f);
  });
  // Let the stream deliver what was pushed (flowing mode delivers on later ticks).
  await new Promise((resolve) => setImmediate(resolve));
  const c0 = process.cpuUsage();
  while (received < (r + 1) * n) await new Promise((resolve) => setImmediate(resolve));
  const c = process.cpuUsage(c0);
  const send = cpu(() => {
    for (let i = 0; i < n; i++) channel.send(execute(i));
  });
  await new Promise((resolve) => setImmediate(resolve));
  console.log(`read ${(read + (c.user + c.system) / n).toFixed(2)} µs/message, send ${send.toFixed(2)} µs/message (${received} read, ${written} bytes written)`);
}
