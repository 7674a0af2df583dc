// Turning what the user picked or dropped into named blobs for the worker: a directory picker
// (webkitdirectory), a multi-file selection, or a dragged folder (walked through its entries).
import type { NamedBlob } from '../model/sources.ts';

export function fromFileList(list: FileList | File[]): NamedBlob[] {
  return Array.from(list).map((f) => ({ name: f.webkitRelativePath || f.name, blob: f }));
}

function readEntry(entry: FileSystemEntry, prefix: string): Promise<NamedBlob[]> {
  if (entry.isFile) {
    return new Promise((resolve, reject) => (entry as FileSystemFileEntry).file((f) => resolve([{ name: prefix + f.name, blob: f }]), reject));
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries(async (batch) => {
        if (batch.length) {
          all.push(...batch);
          next();
        } else {
          try {
            const nested = await Promise.all(all.map((e) => readEntry(e, `${prefix}${entry.name}/`)));
            resolve(nested.flat());
          } catch (err) {
            reject(err);
          }
        }
      }, reject);
    next();
  });
}

/** Files (and folders, recursively) of a drop event. */
export async function fromDrop(dt: DataTransfer): Promise<NamedBlob[]> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return fromFileList(dt.files);
  return (await Promise.all(entries.map((e) => readEntry(e, '')))).flat();
}
