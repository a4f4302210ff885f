/** A real `parley serve` for the browser tests: free loopback port, temporary data dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PARLEY = process.env.PARLEY_BIN ?? path.resolve(here, '../../.venv/bin/parley');
const WEB_DIR = path.resolve(here, '../dist');
const STARTUP_TIMEOUT_MS = 30_000;

export class ParleyServer {
  private process: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  static async start(): Promise<ParleyServer> {
    if (!existsSync(PARLEY)) throw new Error(`${PARLEY} is missing: run \`make install\` in the repository first`);
    if (!existsSync(path.join(WEB_DIR, 'index.html')))
      throw new Error(`${WEB_DIR} has no build: run \`npm run build\` first`);
    const server = new ParleyServer(await freePort(), mkdtempSync(path.join(tmpdir(), 'parley-e2e-')));
    await server.launch();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.process = null;
  }

  /** Starts it again on the same port and data dir. */
  async launch(): Promise<void> {
    const child = spawn(PARLEY, ['serve', '--host', '127.0.0.1', '--port', String(this.port)], {
      env: {
        ...process.env,
        PARLEY_DATA_DIR: this.dataDir,
        PARLEY_PASSWORD_HASH_TIME_COST: '1',
        PARLEY_PASSWORD_HASH_MEMORY_KIB: '1024',
        PARLEY_RATE_LIMITS: 'off',
        PARLEY_WEB_DIR: WEB_DIR,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await this.waitUntilHealthy(child);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitUntilHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`parley serve exited with ${child.exitCode}:\n${this.output}`);
      try {
        const response = await fetch(`${this.url}/api/health`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`parley serve did not become healthy in time:\n${this.output}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
