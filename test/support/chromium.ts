// A headless Chromium (Debian package `chromium`) driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ended by NUL on fds 3 and 4), so a test can load a page,
// wait for something to happen in it, and keep a screenshot. No WebSocket, no npm browser package.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

interface Reply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export class Chromium {
  private readonly child: ChildProcess;
  private readonly profile: string;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private buffered = '';

  private constructor(child: ChildProcess, profile: string) {
    this.child = child;
    this.profile = profile;
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) => this.receive(chunk.toString('utf8')));
  }

  /** Fails with the apt-get hint when chromium is missing: CI installs it, and its test never skips. */
  static async launch(): Promise<Chromium> {
    const profile = await mkdtemp(path.join(tmpdir(), 'flux-chromium-'));
    const args = [
      '--headless=new',
      '--remote-debugging-pipe',
      // Tests run as root in CI, where Chromium's sandbox cannot start.
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--mute-audio',
      '--autoplay-policy=no-user-gesture-required',
      `--user-data-dir=${profile}`,
      'about:blank',
    ];
    const child = spawn('chromium', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new Error('chromium is not installed: apt-get install -y chromium') : error),
      );
    });
    return new Chromium(child, profile);
  }

  /** One DevTools command (of the page's session when given); rejects on its error. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.child.stdio[3] as Writable).write(`${message}\0`);
    });
  }

  /** Opens `url` in a new page; resolves with its session id once it has loaded. */
  async open(url: string): Promise<string> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await this.send('Page.enable', {}, sessionId);
    await this.send('Page.navigate', { url }, sessionId);
    return sessionId;
  }

  /** The value of an expression in the page, awaiting it when it is a promise. */
  async evaluate<T>(sessionId: string, expression: string): Promise<T> {
    const reply = (await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId)) as {
      result: { value: T };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    };
    if (reply.exceptionDetails !== undefined) throw new Error(reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text);
    return reply.result.value;
  }

  async screenshot(sessionId: string): Promise<Buffer> {
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
    return Buffer.from(data, 'base64');
  }

  async close(): Promise<void> {
    await this.send('Browser.close').catch(() => undefined);
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
    await rm(this.profile, { recursive: true, force: true });
  }

  private receive(text: string): void {
    this.buffered += text;
    for (let end = this.buffered.indexOf('\0'); end !== -1; end = this.buffered.indexOf('\0')) {
      const reply = JSON.parse(this.buffered.slice(0, end)) as Reply;
      this.buffered = this.buffered.slice(end + 1);
      const waiter = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (waiter === undefined) continue;
      this.pending.delete(reply.id!);
      if (reply.error !== undefined) waiter.reject(new Error(reply.error.message));
      else waiter.resolve(reply.result ?? {});
    }
  }
}
