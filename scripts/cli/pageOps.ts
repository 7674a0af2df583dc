// What the CLI does inside the page, through window.mor1e: binary transfers as base64, the run's
// OPFS checkpoint copied out and back, the adapter export. Each function runs in the
// page (page.evaluate), so it closes over nothing.
import type { Page } from 'playwright';
import type { MetricRow } from '../../src/train/run.ts';
import type {} from '../../src/testApi.ts';

export interface B64File {
  name: string;
  b64: string;
}

/** The adapter export (PEFT LoRA, or the mor1e format) as base64 files. */
export function exportAdapterFiles(page: Page): Promise<B64File[]> {
  return page.evaluate(async () => {
    const files = await window.mor1e!.exportAdapter({ kind: 'adapter' });
    const b64 = (u: Uint8Array) => {
      let s = '';
      for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
      return btoa(s);
    };
    return files.map((f) => ({ name: f.name, b64: b64(f.bytes) }));
  });
}

/** Every file of a run's OPFS folder (mor1e-runs/<id>/), as base64 with paths relative to it. */
export function readRunFolder(page: Page, id: string): Promise<B64File[]> {
  return page.evaluate(async (id) => {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('mor1e-runs')).getDirectoryHandle(id);
    const out: Array<{ name: string; b64: string }> = [];
    const b64 = (u: Uint8Array) => {
      let s = '';
      for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const walk = async (d: FileSystemDirectoryHandle, prefix: string) => {
      for await (const [name, h] of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else out.push({ name: prefix + name, b64: b64(new Uint8Array(await (await (h as FileSystemFileHandle).getFile()).arrayBuffer())) });
      }
    };
    await walk(dir, '');
    return out;
  }, id);
}

/** Writes a run's folder back into OPFS (mor1e-runs/<id>/), so restoreRun finds it. */
export function writeRunFolder(page: Page, id: string, files: B64File[]): Promise<void> {
  return page.evaluate(
    async ([id, files]) => {
      const root = await navigator.storage.getDirectory();
      const runs = await root.getDirectoryHandle('mor1e-runs', { create: true });
      await runs.removeEntry(id, { recursive: true }).catch(() => {});
      const dir = await runs.getDirectoryHandle(id, { create: true });
      for (const f of files) {
        const parts = f.name.split('/');
        let d = dir;
        for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p, { create: true });
        const w = await (await d.getFileHandle(parts[parts.length - 1], { create: true })).createWritable();
        const bin = atob(f.b64);
        const u = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
        await w.write(u);
        await w.close();
      }
    },
    [id, files] as const,
  );
}

/** Metric rows from index `from` on (the page keeps them all; only the new ones cross over). */
export function metricsFrom(page: Page, from: number): Promise<{ total: number; rows: MetricRow[] }> {
  return page.evaluate(async (from) => {
    const all = await window.mor1e!.metrics();
    return { total: all.length, rows: all.slice(from) };
  }, from);
}
