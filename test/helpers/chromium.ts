/**
 * Drives headless Chromium over the DevTools protocol without any npm package: Chromium is started with
 * `--remote-debugging-pipe`, which speaks CDP as NUL-terminated JSON messages on file descriptors 3
 * (commands in) and 4 (replies and events out). No WebSocket, no port, no race on "DevTools listening".
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.open('file:///tmp/report.html');
 * const value = await page.evaluate('document.title');
 * await browser.close();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The Chromium binary: $CHROMIUM, else Debian's /usr/bin/chromium, else null. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => Boolean(c));
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export interface PageEvent {
  method: string;
  params: Record<string, unknown>;
}

export interface Page {
  /** Every event received for this page so far (Runtime.consoleAPICalled, Runtime.exceptionThrown, Log.entryAdded, Network.requestWillBeSent, …). */
  events: PageEvent[];
  send: (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** Evaluates an expression in the page and returns its JSON value. */
  evaluate: <T = unknown>(expression: string) => Promise<T>;
}

export interface Browser {
  open: (url: string, options?: { width?: number; height?: number }) => Promise<Page>;
  close: () => Promise<void>;
  stderr: () => string;
}

export async function launchChromium(binary = findChromium(), timeoutMs = 20_000): Promise<Browser> {
  if (!binary) throw new Error('chromium not found');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--no-default-browser-check',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-extensions',
    '--disable-dev-shm-usage', '--mute-audio', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
  ];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void; method: string }>();
  const listeners = new Map<string, (e: PageEvent) => void>();
  let nextId = 0;
  let buffer = Buffer.alloc(0);
  let exited = false;
  output.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    let end: number;
    while ((end = buffer.indexOf(0)) >= 0) {
      const message = JSON.parse(buffer.subarray(0, end).toString('utf8')) as Message;
      buffer = buffer.subarray(end + 1);
      if (message.id !== undefined) {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (!p) continue;
        if (message.error) p.reject(new Error(`${p.method}: ${message.error.message}`));
        else p.resolve(message);
      } else if (message.method && message.sessionId) {
        listeners.get(message.sessionId)?.({ method: message.method, params: message.params ?? {} });
      }
    }
  });
  const failAll = (why: string) => {
    for (const p of pending.values()) p.reject(new Error(`${p.method}: ${why}\n${stderr.slice(-2000)}`));
    pending.clear();
  };
  child.on('exit', () => {
    exited = true;
    failAll('chromium exited');
  });
  child.on('error', (e) => failAll(e.message));

  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error(`${method}: chromium is not running\n${stderr.slice(-2000)}`));
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no reply within ${timeoutMs} ms\n${stderr.slice(-2000)}`));
      }, timeoutMs);
      pending.set(id, { method, resolve: (m) => (clearTimeout(timer), resolve(m.result ?? {})), reject: (e) => (clearTimeout(timer), reject(e)) });
      input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });

  const open = async (url: string, options: { width?: number; height?: number } = {}): Promise<Page> => {
    const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const events: PageEvent[] = [];
    let onLoad: (() => void) | null = null;
    listeners.set(sessionId, (e) => {
      events.push(e);
      if (e.method === 'Page.loadEventFired') onLoad?.();
    });
    const pageSend = (method: string, params: Record<string, unknown> = {}) => send(method, params, sessionId);
    for (const domain of ['Page', 'Runtime', 'Log', 'Network']) await pageSend(`${domain}.enable`);
    await pageSend('Emulation.setDeviceMetricsOverride', { width: options.width ?? 1200, height: options.height ?? 900, deviceScaleFactor: 1, mobile: false });
    const loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`page did not load within ${timeoutMs} ms: ${url}`)), timeoutMs);
      onLoad = () => (clearTimeout(timer), resolve());
    });
    const nav = (await pageSend('Page.navigate', { url })) as { errorText?: string };
    if (nav.errorText) throw new Error(`navigation to ${url} failed: ${nav.errorText}`);
    await loaded;
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = (await pageSend('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result: { value: T }; exceptionDetails?: { text: string } };
      if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
      return r.result.value;
    };
    return { events, send: pageSend, evaluate };
  };

  const close = async () => {
    if (!exited) {
      await send('Browser.close').catch(() => undefined);
      await new Promise<void>((resolve) => {
        if (exited) return resolve();
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 5000);
        child.once('exit', () => (clearTimeout(timer), resolve()));
      });
    }
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { open, close, stderr: () => stderr };
}
