'use strict';
/**
 * Contenders run as child processes, so each one's time (start-up included) and memory are its own:
 * runMeasured polls /proc/<pid>/status every 10 ms for the RssAnon high-water (anonymous memory: what a
 * process allocated, as opposed to mapped file pages) and reads VmHWM (peak RSS) at the end. The torch
 * peer scripts (../shared/peers) run with Debian's python3-torch when it is importable.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const PEERS = process.env.PARAMSCOPE_PEERS ?? path.join(ROOT, '..', 'shared', 'peers');
const PY = '/usr/bin/python3';

function torchAvailable() {
  if (!fs.existsSync(path.join(PEERS, 'peer_diff.py'))) return false;
  return spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
}

function readStatus(pid) {
  try {
    const out = {};
    for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const m = /^(VmHWM|VmRSS|RssAnon|RssFile):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]] = Number(m[2]) * 1024;
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Runs a command, polling its /proc status every 10 ms (RssAnon and VmHWM high-water). Children of the
 * command (none here: node and python run the work themselves) are not counted.
 */
function runMeasured(cmd, args, { cwd = ROOT, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    let anonPeak = 0, hwm = 0, fileAtPeak = 0;
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const poll = () => {
      const s = readStatus(child.pid);
      if (!s) return;
      if (s.RssAnon > anonPeak) { anonPeak = s.RssAnon; fileAtPeak = s.RssFile; }
      if (s.VmHWM > hwm) hwm = s.VmHWM;
    };
    const timer = setInterval(poll, 10);
    child.on('error', (e) => { clearInterval(timer); reject(e); });
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ stdout, stderr, anonPeak, hwm, fileAtPeak });
    });
  });
}

module.exports = { ROOT, PEERS, PY, torchAvailable, readStatus, runMeasured };
