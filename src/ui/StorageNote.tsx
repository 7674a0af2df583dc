// Shown when a download could not be kept in the browser's cache (a full quota, a private
// window): why, how much storage this site uses of its quota, and a button asking the browser
// for persistent storage so that the next load can be cached.
import { useEffect, useState } from 'react';

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

export function StorageNote({ messages }: { messages: string[] }) {
  const [estimate, setEstimate] = useState<StorageEstimate | null>(null);
  const [persisted, setPersisted] = useState<boolean | null>(null);
  useEffect(() => {
    void navigator.storage?.estimate?.().then(setEstimate);
    void navigator.storage?.persisted?.().then(setPersisted);
  }, []);
  const ask = async () => setPersisted((await navigator.storage?.persist?.()) ?? false);
  return (
    <div className="warning" data-testid="storage-note">
      {messages.map((m) => (
        <p key={m}>{m}</p>
      ))}
      {estimate?.quota !== undefined && (
        <p>
          This site uses {gib(estimate.usage ?? 0)} of {gib(estimate.quota)} the browser allows it.
        </p>
      )}
      {persisted === false && (
        <button onClick={() => void ask()} data-testid="storage-persist">
          Allow persistent storage
        </button>
      )}
      {persisted && <p>Persistent storage is allowed.</p>}
    </div>
  );
}
