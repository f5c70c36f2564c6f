import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectHost, findExecutable, hostCapabilitiesFor, nodeFeatures } from '../src/subagent/host.js';

const major = Number(process.versions.node.split('.')[0]);
const expectedFlag = major >= 22 ? '--permission' : major >= 20 ? '--experimental-permission' : null;

describe('detectHost on this machine', () => {
  it('reports the running Node version and its permission flag', async () => {
    const host = await detectHost(process.execPath);
    expect(host.nodeVersion).toBe(process.versions.node);
    expect(host.permissionFlag).toBe(expectedFlag);
    expect(host.permissionAudit).toBe(major >= 24);
    expect(host.permissionCoversNet).toBe(major >= 25);
  });

  it('finds working prlimit and setpriv (util-linux)', async () => {
    const host = await detectHost(process.execPath);
    expect(host.prlimit).not.toBeNull();
    expect(path.basename(host.prlimit ?? '')).toBe('prlimit');
    expect(path.isAbsolute(host.prlimit ?? '')).toBe(true);
    expect(path.basename(host.setpriv ?? '')).toBe('setpriv');
  });

  it('reports bwrap consistently (bwrap may be absent here)', async () => {
    const host = await detectHost(process.execPath);
    if (host.bwrap !== null) expect(path.basename(host.bwrap)).toBe('bwrap');
    expect(host.isRoot).toBe(process.getuid?.() === 0);
  });

  it('is cached per node path: the same promise object', () => {
    expect(detectHost(process.execPath)).toBe(detectHost(process.execPath));
  });

  it('a node path that does not run yields no permission model', async () => {
    const host = await detectHost('/nonexistent/bin/node');
    expect(host.nodeVersion).toBe('unknown');
    expect(host.permissionFlag).toBeNull();
  });
});

describe('nodeFeatures', () => {
  it.each([
    ['18.20.0', null, false, false],
    ['v20.20.2', '--experimental-permission', false, false],
    ['21.7.3', '--experimental-permission', false, false],
    ['22.23.3', '--permission', false, false],
    ['24.21.0', '--permission', false, true],
    ['25.9.0', '--permission', true, true],
    ['26.10.0', '--permission', true, true],
    ['unknown', null, false, false],
  ] as const)('%s → %s, net %s, audit %s', (version, flag, net, audit) => {
    expect(nodeFeatures(version)).toEqual({ permissionFlag: flag, permissionCoversNet: net, permissionAudit: audit });
  });
});

describe('findExecutable', () => {
  it('finds programs on the given PATH only, with an absolute path', () => {
    const dir = path.dirname(process.execPath);
    expect(findExecutable(path.basename(process.execPath), dir)).toBe(process.execPath);
    expect(findExecutable('qicoord-no-such-program', dir)).toBeNull();
    expect(findExecutable(path.basename(process.execPath), '')).toBeNull();
  });
});

describe('hostCapabilitiesFor', () => {
  it('defaults to a fully equipped Node 22 host', () => {
    const host = hostCapabilitiesFor();
    expect(host.permissionFlag).toBe('--permission');
    expect(host.bwrap).not.toBeNull();
  });

  it('derives permission fields from nodeVersion; explicit fields win', () => {
    expect(hostCapabilitiesFor({ nodeVersion: '20.20.2' }).permissionFlag).toBe('--experimental-permission');
    expect(hostCapabilitiesFor({ nodeVersion: '25.9.0' }).permissionCoversNet).toBe(true);
    expect(hostCapabilitiesFor({ nodeVersion: '25.9.0', permissionCoversNet: false }).permissionCoversNet).toBe(false);
    expect(hostCapabilitiesFor({ isRoot: true, setpriv: null })).toMatchObject({ isRoot: true, setpriv: null });
  });
});
